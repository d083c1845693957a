/** The thumbnailer's ffmpeg is a supervised job: a still from an fMP4 keyframe, a typed failure otherwise. */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { pino } from 'pino';
import { errorCode } from '../../src/common/errors/index.js';
import { makeJpeg } from '../../src/ingress/thumbnailer.js';

const logger = pino({ level: 'silent' });

test('makeJpeg: one keyframe of fragmented MP4 becomes a JPEG no larger than 320 pixels', async () => {
  // prettier-ignore
  const made = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-frames:v', '1',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov', 'pipe:1',
  ]);
  assert.equal(made.status, 0, String(made.stderr));
  const jpeg = await makeJpeg('ffmpeg', made.stdout, logger);
  assert.equal(jpeg[0], 0xff);
  assert.equal(jpeg[1], 0xd8);
  const probe = spawnSync(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', '-'],
    { input: jpeg },
  );
  assert.equal(String(probe.stdout).trim(), '320,180');
});

test('makeJpeg: input ffmpeg cannot decode is THUMBNAIL_FAILED with its last lines; a missing binary too', async () => {
  await assert.rejects(
    makeJpeg('ffmpeg', Buffer.from('not an mp4 at all'), logger),
    (err: Error) => errorCode(err) === 'THUMBNAIL_FAILED' && /ffmpeg exited 1/.test(err.message),
  );
  await assert.rejects(
    makeJpeg('/nonexistent/ffmpeg', Buffer.alloc(0), logger),
    (err: Error) => errorCode(err) === 'THUMBNAIL_FAILED' && /ENOENT/.test(err.message),
  );
});
