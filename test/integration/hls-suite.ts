/**
 * HLS and LL-HLS from the chunks the edge already holds, through ingress → intermediate → edge: the
 * multivariant and media playlists follow the spec's rules, parts and segments are the cached bytes,
 * blocking reloads wait for the part asked for and refuse what is too far ahead, and ffmpeg's HLS demuxer
 * (a plain HLS client, no LL support) decodes every rendition.
 */
import { after, before, test as nodeTest } from 'node:test';
import assert from 'node:assert/strict';
import { publish, run, startNetwork, stop, waitFor, type TestNetwork } from '../helpers/network.js';
import { parseMediaPlaylist, violations } from '../helpers/hls-conformance.js';

/**
 * The suite, for a chunk duration: the default 200 ms chunks (a part per chunk) and frame-sized chunks
 * (33 ms, grouped into 200 ms parts) run the same checks.
 */
export function defineHlsSuite(opts: { chunkDurationMs?: number } = {}): void {
  const label = opts.chunkDurationMs ? ` (${opts.chunkDurationMs} ms chunks)` : '';
  const test = (name: string, fn: () => Promise<void>): void => void nodeTest(name + label, fn);
  let net: TestNetwork;
  let pub: ReturnType<typeof publish>;

  before(async () => {
    net = await startNetwork({ intermediates: 1, chunkDurationMs: opts.chunkDurationMs });
    pub = publish(net.rtmpUrl, undefined, 120);
    // A few complete segments on every rendition (the newest cached segment is never listed whole).
    await waitFor(
      'the edge lists three complete segments',
      async () => {
        for (const id of ['v360', 'v240', 'a0']) {
          const r = await fetch(`${net.edgeUrl}/live/cam/${id}/playlist.m3u8`);
          if (!r.ok || parseMediaPlaylist(await r.text()).segments.length < 3) return false;
        }
        return true;
      },
      30_000,
    );
  });

  after(async () => {
    await stop(pub);
    await net.close();
  });

  const get = async (path: string) => {
    const r = await fetch(`${net.edgeUrl}${path}`);
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
  };

  test('the multivariant playlist lists every video rendition with its attributes and the audio group', async () => {
    const m = await get('/live/cam/master.m3u8');
    assert.equal(m.status, 200);
    assert.equal(m.type, 'application/vnd.apple.mpegurl');
    for (const id of ['v360', 'v240']) {
      assert.match(
        m.text,
        new RegExp(
          `#EXT-X-STREAM-INF:BANDWIDTH=\\d+,AVERAGE-BANDWIDTH=\\d+,CODECS="avc1\\.[0-9a-f]{6},mp4a\\.40\\.2",RESOLUTION=\\d+x${id.slice(1)},FRAME-RATE=30\\.000,AUDIO="audio"\\n${id}/playlist.m3u8`,
        ),
      );
    }
    assert.match(m.text, /#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="a0".*URI="a0\/playlist.m3u8"/);
  });

  test('every media playlist is conformant, and stays so as it moves: sequence and parts continuous', async () => {
    for (const id of ['v360', 'v240', 'a0']) {
      const first = parseMediaPlaylist((await get(`/live/cam/${id}/playlist.m3u8`)).text);
      assert.deepEqual(violations(first), [], id);
      assert.ok(first.segments.length >= 1, `${id} lists segments`);
      assert.ok(
        first.segments.slice(-2).every((s) => s.parts.length > 0),
        `${id}: recent segments carry parts`,
      );
      await new Promise((r) => setTimeout(r, 1300));
      const later = parseMediaPlaylist((await get(`/live/cam/${id}/playlist.m3u8`)).text);
      assert.deepEqual(violations(later), [], id);
      assert.ok(later.mediaSequence >= first.mediaSequence);
      // A segment listed in both has the same duration in both.
      for (const s of later.segments) {
        const before = first.segments.find((x) => x.number === s.number);
        if (before && Number.isFinite(before.duration) && first.segments.at(-1)!.number !== s.number) {
          assert.equal(s.duration, before.duration, `${id} segment ${s.number}`);
        }
      }
      assert.ok(later.segments.at(-1)!.number > first.segments.at(-1)!.number, `${id}: new segments appear`);
    }
  });

  test('parts and segments are the cached CMAF bytes: a segment is its parts, in order', async () => {
    const p = parseMediaPlaylist((await get('/live/cam/v360/playlist.m3u8')).text);
    const seg = p.segments.filter((s) => s.parts.length).at(-1)!;
    const parts = await Promise.all(
      seg.parts.map(async (x) =>
        Buffer.from(await (await fetch(`${net.edgeUrl}/live/cam/v360/${x.uri}`)).arrayBuffer()),
      ),
    );
    const whole = Buffer.from(await (await fetch(`${net.edgeUrl}/live/cam/v360/${seg.uri}`)).arrayBuffer());
    assert.ok(
      parts.every((b) => b.includes(Buffer.from('moof'))),
      'each part is a fragment',
    );
    assert.ok(Buffer.concat(parts).equals(whole), 'the segment is its parts, byte for byte');
    assert.equal(
      (await fetch(`${net.edgeUrl}/live/cam/v360/${seg.number}.99.m4s`)).status,
      404,
      'a part its segment never had',
    );
    assert.equal(
      (await fetch(`${net.edgeUrl}/live/cam/v360/${seg.number + 5}.0.m4s`)).status,
      404,
      'a part more than a segment ahead is not waited for',
    );
  });

  test('a blocking reload answers once the part exists; too far ahead or malformed is 400', async () => {
    const p = parseMediaPlaylist((await get('/live/cam/v360/playlist.m3u8')).text);
    const [, msn, part] = /^(\d+)\.(\d+)\.m4s$/.exec(p.preloadHint!)!.map(Number) as [number, number, number];
    const r = await get(`/live/cam/v360/playlist.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`);
    assert.equal(r.status, 200);
    assert.ok(r.text.includes(`URI="${msn}.${part}.m4s"`), 'the answer lists the part that was asked for');
    assert.deepEqual(violations(parseMediaPlaylist(r.text)), []);
    // The preload hint itself: requested before it exists, answered when it does.
    const hinted = parseMediaPlaylist(r.text).preloadHint!;
    const body = await fetch(`${net.edgeUrl}/live/cam/v360/${hinted}`);
    assert.equal(body.status, 200);
    for (const bad of [
      `_HLS_msn=${msn + 5}`,
      // (msn + 1: by now msn may be complete, and any part of a complete segment is answered)
      `_HLS_msn=${msn + 1}&_HLS_part=${part + 20}`,
      '_HLS_part=1',
      '_HLS_msn=-1',
      '_HLS_msn=abc',
      '_HLS_msn=99999999999',
    ]) {
      const x = await get(`/live/cam/v360/playlist.m3u8?${bad}`);
      assert.equal(x.status, 400, bad);
      assert.match(x.text, /BAD_REQUEST/);
    }
  });

  test('unknown streams and renditions are 404 with a code', async () => {
    assert.equal((await get('/live/nobody/master.m3u8')).status, 404);
    const r = await get('/live/cam/v9999/playlist.m3u8');
    assert.equal(r.status, 404);
    assert.match(r.text, /SEGMENT_NOT_FOUND/);
  });

  test('ffmpeg’s HLS demuxer (no LL support) decodes every variant of the multivariant playlist and every media playlist', async () => {
    // One program per variant (video + the audio group). `-map 0:v:N` crashes ffmpeg 5.1's HLS demuxer when
    // variants share an audio group (a bug of that version), so variants are picked as programs.
    const inputs: Array<[string, string[]]> = [
      ['variant 0', ['-i', `${net.edgeUrl}/live/cam/master.m3u8`, '-map', '0:p:0']],
      ['variant 1', ['-i', `${net.edgeUrl}/live/cam/master.m3u8`, '-map', '0:p:1']],
      ...['v360', 'v240', 'a0'].map((id): [string, string[]] => [
        id,
        ['-i', `${net.edgeUrl}/live/cam/${id}/playlist.m3u8`],
      ]),
    ];
    for (const [what, args] of inputs) {
      const r = await run('ffmpeg', ['-v', 'error', ...args, '-t', '2', '-f', 'null', '-'], 60_000);
      assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      assert.equal(r.stderr.trim(), '', `${what} decodes without errors`);
    }
  });
}
