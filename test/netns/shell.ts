/** Synchronous commands for the netns harness: setup steps take milliseconds and must also run at exit. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** iproute2 lives in /usr/sbin, which a non-login PATH may lack. */
function bin(name: string): string {
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin'])
    if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  return name;
}

export const IP = bin('ip');
export const TC = bin('tc');

export interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command synchronously; throws with its stderr unless `allowFail`. */
export function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): ShellResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  const out = { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '' };
  if (out.code !== 0 && !opts.allowFail)
    throw new Error(`netns: \`${cmd} ${args.join(' ')}\` failed (${out.code}): ${out.stderr.trim()}`);
  return out;
}
