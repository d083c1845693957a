/**
 * How tiercast encodes a source it publishes itself (the `--demo` test pattern, a local capture device):
 * x264 with no lookahead and a 1 s GOP at 30 fps, AAC at 48 kHz, into FLV. One place for these settings, so
 * the demo, capture inputs and the test publishers send what a low-latency OBS setup sends.
 */
export function sourceEncodeArgs(o: { videoBitrateKbps?: number; audioBitrateKbps?: number } = {}): string[] {
  return [
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30'],
    ...(o.videoBitrateKbps ? ['-b:v', `${o.videoBitrateKbps}k`] : []),
    ...['-pix_fmt', 'yuv420p', '-c:a', 'aac'],
    ...(o.audioBitrateKbps ? ['-b:a', `${o.audioBitrateKbps}k`] : []),
    ...['-ar', '48000', '-f', 'flv'],
  ];
}
