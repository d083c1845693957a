#!/usr/bin/env node
// The image's HEALTHCHECK: GET /healthz on this container's tiercast node; exit 0 when it answers 200.
// The port is, in order: HEALTHCHECK_URL (a full URL, for unusual setups), TIERCAST_HTTP__PORT, the
// node's own --port flag, TIERCAST_EDGE__HTTP__PORT for `all`, then the role's default port. The node is
// found by its command line in /proc (the health check runs beside it, in the same container).
import { readFileSync, readdirSync } from 'node:fs';

const DEFAULT_PORTS = { hub: 8070, ingress: 8090, intermediate: 8091, edge: 8080, all: 8080 };

/** Arguments after bin/node-role.js of the node process in this container, or [] if none is found. */
function nodeArgs() {
  let pids = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return [];
  }
  for (const pid of pids) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const i = argv.findIndex((a) => a.endsWith('node-role.js'));
      if (i >= 0) return argv.slice(i + 1);
    } catch {
      // the process ended while we looked
    }
  }
  return [];
}

function healthUrl(env) {
  if (env.HEALTHCHECK_URL) return env.HEALTHCHECK_URL;
  if (env.TIERCAST_HTTP__PORT) return `http://127.0.0.1:${env.TIERCAST_HTTP__PORT}/healthz`;
  const args = nodeArgs();
  const flag = args.indexOf('--port');
  const role = args[0] ?? 'all';
  const port =
    (flag >= 0 ? args[flag + 1] : undefined) ??
    (role === 'all' ? env.TIERCAST_EDGE__HTTP__PORT : undefined) ??
    DEFAULT_PORTS[role] ??
    8080;
  return `http://127.0.0.1:${port}/healthz`;
}

const url = healthUrl(process.env);
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (res.ok) process.exit(0);
  process.stderr.write(`unhealthy: ${url} answered ${res.status}\n`);
} catch (err) {
  process.stderr.write(`unhealthy: ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
}
process.exit(1);
