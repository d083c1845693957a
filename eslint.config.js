import tseslint from 'typescript-eslint';

// Borders between roles: a role imports only src/common and itself, and src/common imports no role. The
// composition roots src/cli and src/all-in-one are the only folders that wire several roles together.
const ROLES = ['edge', 'hub', 'ingress', 'intermediate'];
const importsNone = (folders, message) => ({
  'no-restricted-imports': [
    'error',
    { patterns: [{ regex: `^(\\.\\./)+(${[...folders, 'cli', 'all-in-one'].join('|')})(/|$)`, message }] },
  ],
});
const ROLE_BORDER =
  'A role imports only src/common and itself: shared formats live in src/common so roles can be deployed and changed apart.';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/out/**', 'bin/**', 'scripts/*.mjs', 'eslint.config.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message:
            'Read configuration once in src/common/config (TIERCAST_* variables); modules receive typed config.',
        },
      ],
    },
  },
  {
    files: ['src/common/config/**', 'src/cli/**', 'test/**', 'bench/**'],
    rules: { 'no-restricted-properties': 'off', 'no-console': 'off' },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // The pages: plain ES modules served as they are, typed with JSDoc and checked by src/edge/public/tsconfig.json
    // (the nearest tsconfig, which projectService picks for them: DOM types, no Node). A page has no logger: it
    // reports what it recovered from on the browser console, as a warning or an error.
    files: ['src/edge/public/**'],
    rules: { 'no-console': ['error', { allow: ['warn', 'error'] }] },
  },
  ...ROLES.map((role) => ({
    files: [`src/${role}/**`],
    rules: importsNone(
      ROLES.filter((r) => r !== role),
      ROLE_BORDER,
    ),
  })),
  {
    files: ['src/common/**'],
    rules: importsNone(ROLES, `src/common is shared by every role and imports none of them. ${ROLE_BORDER}`),
  },
);
