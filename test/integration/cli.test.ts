/**
 * The public interface: `node-role all --demo` on the documented ports, start-up refusal on bad config,
 * and the capture-input path of `node-role ingress --input`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, waitFor } from '../helpers/network.js';

const BIN = 'bin/node-role.js';

test(
  'node-role all --demo: RTMP on 1935, the edge on 8080, a live stream named demo',
  { timeout: 150_000 },
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tiercast-all-'));
    const p = spawn(process.execPath, [BIN, 'all', '--demo'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TIERCAST_LOG_LEVEL: 'warn', TIERCAST_HUB__DATA_DIR: dataDir },
    });
    // stdout: the JSON log lines; stderr: the banner (and anything fatal).
    let logs = '';
    let out = '';
    p.stdout.on('data', (d: Buffer) => (logs += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exitedEarly = new Promise<never>((_, reject) =>
      p.once('exit', (code) =>
        reject(new Error(`node-role all exited early (${code}): ${out.slice(-500)} ${logs.slice(-500)}`)),
      ),
    );
    exitedEarly.catch(() => undefined);
    try {
      await Promise.race([waitFor('banner', () => out.includes('tiercast is running'), 30_000), exitedEarly]);
      assert.match(out, /rtmp:\/\/127\.0\.0\.1:1935\/live/);
      assert.match(out, /http:\/\/127\.0\.0\.1:8080\/watch\/demo/);
      const demoKey = /demo key: (\S+)\)/.exec(out)?.[1];
      assert.ok(demoKey, 'the demo key is shown (the only key ever printed)');
      const list = await waitFor(
        'demo in the directory',
        async () => {
          const r = await fetch('http://127.0.0.1:8080/api/streams').catch(() => undefined);
          const l = r ? ((await r.json()) as Array<{ name: string; live: boolean; viewers: number }>) : [];
          return l.some((s) => s.name === 'demo' && s.live) && l;
        },
        40_000,
      );
      for (const k of ['category', 'live', 'name', 'title', 'viewers'])
        assert.ok(k in list[0]!, `entries have ${k}`);
      const page = await (await fetch('http://127.0.0.1:8080/watch/demo')).text();
      assert.match(page, /<video/);
      // ffmpeg's DASH reader computes each rendition's segment from the clock one rendition after another;
      // on a loaded machine (a transcoder behind real time) it can run ahead of the media and never come back.
      // The edge moves the MPD's anchor by the lag it measures; each try is still bounded, and a second try
      // starts from the (re-anchored) live edge again.
      let probe = { code: -1 as number | null, stdout: '', stderr: '' };
      for (let attempt = 0; attempt < 3 && probe.code !== 0; attempt++)
        probe = await run(
          'ffprobe',
          [
            '-v',
            'error',
            '-rw_timeout',
            '8000000',
            '-show_entries',
            'stream=codec_name',
            '-of',
            'csv=p=0',
            'http://127.0.0.1:8080/live/demo/manifest.mpd',
          ],
          25_000,
        );
      assert.equal(probe.code, 0, probe.stderr);
      assert.ok(probe.stdout.includes('h264') && probe.stdout.includes('aac'));
      for (const port of [8080, 8090, 8091, 8070]) {
        const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        assert.match(
          m,
          /tiercast_process_cpu_user_seconds_total\{[^}]*node_id="[^"]+"[^}]*node_role="[^"]+"/,
          `metrics on ${port}`,
        );
        if (port !== 8070)
          assert.match(
            m,
            /tiercast_relay_chunks_total\{stream="demo",node_id="[^"]+",node_role="[^"]+"\} [1-9]/,
            `chunks relayed on ${port}`,
          );
      }
      assert.ok(!logs.includes(demoKey), 'the key never appears in the logs');
      for (const line of logs.split('\n').filter(Boolean)) {
        for (const k of ['node_id', 'role', 'module'])
          assert.ok(line.split(`"${k}":`).length <= 2, `${k} once: ${line}`);
        const entry = JSON.parse(line) as { node_id?: string; role?: string; module?: string };
        const node = entry.module?.split('/')[0];
        if (node && ['hub', 'ingress', 'intermediate', 'edge'].includes(node))
          assert.equal(entry.role, node, `the node's own role: ${line}`);
      }
    } finally {
      if (p.exitCode === null && p.signalCode === null) {
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await gone;
      }
    }
  },
);

test('an unknown config key stops start-up with the key named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tiercast-cli-'));
  const cfg = join(dir, 'edge.yaml');
  writeFileSync(cfg, 'clusterSecret: abcdefghijklmnopqrstuvwxyz\nupstream:\n  parnets: [ws://127.0.0.1:1]\n');
  const r = await run(process.execPath, [BIN, 'edge', '--config', cfg]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /CONFIG_INVALID: .*unknown key upstream\.parnets/);
});

test('an edge without a cluster secret refuses to start', async () => {
  const env = { ...process.env };
  delete env.TIERCAST_CLUSTER_SECRET;
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [BIN, 'edge', '--port', '0'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stderr }));
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cluster secret/);
});
