// The pages' two palettes (src/edge/public/style.css), read from the stylesheet itself: every colour meant
// for text is readable (WCAG AA, 4.5:1) on every background of its palette, and no rule paints text in a
// state's fill colour (--warn, --ok, --live, --accent), which is made for badges and borders and fails AA
// in the light palette. The browser test (themes.test.ts) measures what a page shows at one moment; this
// one also covers the states a page shows only briefly, such as the chat's "Connecting…".

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const CSS = readFileSync(new URL('../../src/edge/public/style.css', import.meta.url), 'utf8');

/** The custom properties declared in the first block that opens with `opening`. */
function palette(opening: string): Map<string, string> {
  const start = CSS.indexOf(opening);
  assert.ok(start >= 0, `style.css has a block ${opening}`);
  const body = CSS.slice(start + opening.length, CSS.indexOf('}', start));
  return new Map([...body.matchAll(/(--[\w-]+):\s*([^;]+);/g)].map((m) => [m[1]!, m[2]!.trim()]));
}

const DARK = palette(':root {');
const LIGHT = palette(":root[data-theme='light'] {");
const LIGHT_BY_SYSTEM = palette(':root:not([data-theme]) {');

function luminance(hex: string): number {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  assert.ok(m, `${hex} is a #rrggbb colour`);
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(m[1]!.slice(i, i + 2), 16) / 255);
  const lin = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!);
}

function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/** Colours made for text: the page's own, and each state's text colour. */
const TEXT_TOKENS = ['--text', '--muted', '--dim', '--accent-strong'];
const isTextToken = (name: string) => TEXT_TOKENS.includes(name) || name.endsWith('-text');
const BACKGROUNDS = ['--bg', '--surface', '--surface-2'];

for (const [name, colours] of [
  ['dark', DARK],
  ['light', { get: (k: string) => LIGHT.get(k) ?? DARK.get(k), keys: () => DARK.keys() }],
] as const) {
  test(`${name} palette: every text colour passes AA on every background`, () => {
    const failing: string[] = [];
    const tokens = [...colours.keys()].filter(isTextToken);
    assert.ok(tokens.length >= 8, 'the palette names its text colours');
    for (const fg of tokens)
      for (const bg of BACKGROUNDS) {
        const ratio = contrast(colours.get(fg)!, colours.get(bg)!);
        if (ratio < 4.5) failing.push(`${fg} on ${bg}: ${ratio.toFixed(2)}`);
      }
    assert.deepEqual(failing, []);
  });
}

test("the system's light palette is the chosen light palette", () => {
  assert.deepEqual(Object.fromEntries(LIGHT_BY_SYSTEM), Object.fromEntries(LIGHT));
});

test("no text is painted in a state's fill colour (its -text colour is the readable one)", () => {
  // Rules whose background is fixed and dark in both palettes, where the fill colour reads well.
  const ON_BLACK = new Set(['.lock-badge']);
  const offending: string[] = [];
  for (const m of CSS.matchAll(/([^{}]+)\{([^{}]*)\}/g)) {
    const selector = m[1]!.trim().split('\n').pop()!.trim();
    if (ON_BLACK.has(selector)) continue;
    const fill = /(?:^|;|\s)color:\s*var\(--(warn|ok|live|accent)\)/.exec(m[2]!);
    if (fill) offending.push(`${selector} { color: var(--${fill[1]}) }`);
  }
  assert.deepEqual(offending, []);
});
