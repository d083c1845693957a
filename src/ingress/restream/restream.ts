/**
 * A live stream's restream outputs at the ingress (issue 16): one RestreamOutput per output the hub handed
 * over with the key check, each a subscriber of the stream's relay. Their states go to the hub as one list
 * (the dashboard shows it), sent on every change.
 */
import type { Logger } from '../../common/logging/index.js';
import type { StreamRelay } from '../../common/relay/stream-relay.js';
import { RestreamOutput, type OutputSpec, type OutputState } from './restream-output.js';

export interface StreamOutputs {
  stop(): void;
}

export function startOutputs(opts: {
  stream: string;
  relay: StreamRelay;
  specs: readonly OutputSpec[];
  logger: Logger;
  report(states: OutputState[]): void;
  ffmpegPath?: string;
}): StreamOutputs {
  const states = new Map<string, OutputState>();
  const outputs = opts.specs.map(
    (spec) =>
      new RestreamOutput({
        stream: opts.stream,
        spec,
        logger: opts.logger,
        ffmpegPath: opts.ffmpegPath,
        onState: (s) => {
          states.set(s.id, s);
          opts.report([...states.values()]);
        },
      }),
  );
  // Listened to, not attached: the publish has not started yet, so everything arrives as it is made (attach
  // would replay the end of this name's previous publish, still held by the relay).
  for (const o of outputs) opts.relay.listen(o);
  opts.logger.info({ outputs: outputs.length }, 'restreaming');
  return {
    stop() {
      for (const o of outputs) {
        opts.relay.detach(o);
        o.stop();
      }
    },
  };
}
