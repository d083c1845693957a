/**
 * A local capture device or file as a publisher: a supervised ffmpeg encodes it to FLV on pipe 3, which
 * enters the same path as RTMP. If the capture ffmpeg cannot start, publishing fails with
 * PROCESS_START_FAILED (and the stream is closed again); if it dies later, the stream ends (the device is
 * gone). close() stops ffmpeg (SIGTERM, then SIGKILL) and then the stream.
 */
import type { ErrorCode } from '../common/errors/index.js';
import { errorMessage } from '../common/errors/index.js';
import type { Logger } from '../common/logging/index.js';
import { FlvReader, type FlvTag } from './flv/flv-reader.js';
import type { LiveStream } from './live-stream.js';
import { FfmpegProcess } from './transcoder/ffmpeg-supervisor.js';
import { sourceEncodeArgs } from './source-encode.js';

export interface CaptureInputOptions {
  input: string;
  format?: string;
  name: string;
}

export type BeginStream = (
  name: string,
  extra: { title?: string },
  onFailed?: (code: ErrorCode, description: string) => void,
) => LiveStream;

export function captureArgs(o: CaptureInputOptions): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'level+error',
    '-nostdin',
    ...(o.format ? ['-f', o.format] : []),
    ...(o.format === 'lavfi' || !o.format ? ['-re'] : []),
    '-i',
    o.input,
    ...sourceEncodeArgs(),
    'pipe:3',
  ];
}

export async function publishCaptureInput(
  o: CaptureInputOptions,
  beginStream: BeginStream,
  ffmpegPath: string,
  logger: Logger,
): Promise<{ close(): Promise<void> }> {
  const stream = beginStream(o.name, { title: o.name }, (code, description) =>
    logger.error({ code }, `capture input failed: ${description}`),
  );
  let proc: FfmpegProcess;
  try {
    proc = await FfmpegProcess.start({
      args: captureArgs(o),
      ffmpegPath,
      outputPipes: 1,
      logger,
      context: { stream: o.name },
      codes: { startFailed: 'PROCESS_START_FAILED', died: 'PROCESS_DIED' },
      // Run with -loglevel error: every line is worth a warning.
      stderrLevel: 'warn',
    });
  } catch (err) {
    await stream.close('capture input could not start');
    throw err;
  }
  const reader = new FlvReader();
  let closed = false;
  proc.outputs[0]!.on('data', (d: Buffer) => {
    let tags: FlvTag[];
    try {
      tags = reader.push(d);
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'capture output unreadable; stopping');
      proc.kill();
      return;
    }
    for (const t of tags) stream.onTag(t);
  });
  proc.on('died', (err) => {
    logger.warn({ code: err.code, err: err.message }, 'capture input ended');
    void stream.close('capture input ended');
  });
  logger.info({ pid: proc.pid }, 'capture input started');
  return {
    close: async () => {
      if (closed) return;
      closed = true;
      await proc.close();
      await stream.close('capture input stopped');
    },
  };
}
