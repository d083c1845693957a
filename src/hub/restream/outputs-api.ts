/**
 * What a streamer does with their channel's restream outputs (issue 16, ADR 0021), from the dashboard and the
 * remote API alike: list them with the state the ingress last reported, add one, remove one. The third
 * party's key is sealed before it is stored and is in no answer, log line or error; the URL is checked like a
 * webhook's target (rtmp: or rtmps:, no credentials, a public address unless `restream.allowPrivateTargets`).
 * Outputs are handed to the ingress when the stream goes live: a change applies at the next go-live.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from '../../common/http/json-routes.js';
import type { Logger } from '../../common/logging/index.js';
import { parseBody } from '../internal-api.js';
import type { RestreamOutputRecord, Store } from '../store/types.js';
import { checkTarget } from '../../common/net/target-url.js';
import type { KeySealer } from './sealed-keys.js';

/** A channel's outputs at most (each is one more upload of the stream from the ingress). */
export const MAX_OUTPUTS_PER_CHANNEL = 5;

export const newOutputSchema = z.strictObject({
  name: z.string().trim().min(1).max(40),
  url: z.string().min(1).max(1000),
  /** Printable ASCII without spaces (every service's keys are): nothing that could split an ffmpeg URL. */
  key: z.string().regex(/^[\x21-\x7e]{1,512}$/, 'a key is 1 to 512 printable characters, no spaces'),
  /** `source`: the publisher's own video when passed through, else the top rendition; or a rendition id. */
  rendition: z
    .string()
    .regex(/^[a-z0-9]{1,16}$/)
    .default('source'),
});

export type OutputStateName = 'connecting' | 'live' | 'failed' | 'stopped';

/**
 * The states ingresses last reported, per channel and output (in memory: they are live facts). Reports carry
 * the ingress's sequence number: one that arrives after a newer one is ignored.
 */
export class OutputStates {
  private readonly byChannel = new Map<
    string,
    { seq: number; outputs: Map<string, { state: OutputStateName; reason?: string }> }
  >();

  set(
    channel: string,
    seq: number,
    outputs: ReadonlyArray<{ id: string; state: OutputStateName; reason?: string | undefined }>,
  ): void {
    const had = this.byChannel.get(channel);
    if (had && seq <= had.seq) return;
    const m = new Map<string, { state: OutputStateName; reason?: string }>();
    for (const o of outputs) m.set(o.id, { state: o.state, ...(o.reason ? { reason: o.reason } : {}) });
    this.byChannel.set(channel, { seq, outputs: m });
  }

  get(channel: string, id: string) {
    return this.byChannel.get(channel)?.outputs.get(id);
  }
}

export interface OutputsControl {
  sealer: KeySealer;
  states: OutputStates;
  allowPrivateTargets: boolean;
  /** Whether the channel is live now: a state reported before it ended (or its ingress died) is not shown. */
  isLive(channel: string): boolean;
}

export function outputView(o: RestreamOutputRecord, control: OutputsControl, channel: string) {
  const s = control.states.get(channel, o.id);
  const state = !s ? 'off' : control.isLive(channel) ? s.state : 'stopped';
  return {
    id: o.id,
    name: o.name,
    url: o.url,
    rendition: o.rendition,
    createdAt: o.createdAt,
    state,
    ...(s?.reason && state === 'failed' ? { reason: s.reason } : {}),
  };
}

/** The channel's outputs with their keys unsealed, for the ingress that publishes it (only there). */
export function outputsForIngress(store: Store, control: OutputsControl, channel: string, logger: Logger) {
  const out: Array<{ id: string; url: string; key: string; rendition: string; allowPrivate?: true }> = [];
  for (const o of store.restream.list(channel)) {
    const key = control.sealer.open(o.id, o.keySealed);
    if (key === undefined) {
      logger.warn(
        { stream: channel, output: o.id, code: 'RESTREAM_KEY_UNREADABLE' },
        'a restream key does not open (the cluster secret or restream.secretsKey changed?): output skipped',
      );
      continue;
    }
    out.push({
      id: o.id,
      url: o.url,
      key,
      rendition: o.rendition,
      ...(control.allowPrivateTargets ? { allowPrivate: true as const } : {}),
    });
  }
  return out;
}

/** The three things a channel's owner does with its outputs, whichever API they came through (`via`). */
export function channelOutputs(store: Store, control: OutputsControl, logger: Logger, via: string) {
  return {
    list: (channel: string) => ({
      outputs: store.restream.list(channel).map((o) => outputView(o, control, channel)),
    }),
    async add(channel: string, body: unknown) {
      const b = parseBody(newOutputSchema, body);
      if (store.restream.list(channel).length >= MAX_OUTPUTS_PER_CHANNEL)
        throw new ApiError('RESTREAM_LIMIT', `a channel has at most ${MAX_OUTPUTS_PER_CHANNEL} outputs`);
      const target = await checkTarget(b.url, {
        allowPrivate: control.allowPrivateTargets,
        schemes: ['rtmp:', 'rtmps:'],
      });
      if (!target.ok)
        throw new ApiError('RESTREAM_TARGET_REFUSED', `this output URL is refused: ${target.reason}`);
      if (target.url.search || target.url.hash)
        throw new ApiError(
          'RESTREAM_TARGET_REFUSED',
          'this output URL is refused: no ?query or #fragment (the key goes in its own field)',
        );
      // Counted again after the check's await: two requests at once must not both pass the limit.
      if (store.restream.list(channel).length >= MAX_OUTPUTS_PER_CHANNEL)
        throw new ApiError('RESTREAM_LIMIT', `a channel has at most ${MAX_OUTPUTS_PER_CHANNEL} outputs`);
      const id = `out_${randomBytes(9).toString('base64url')}`;
      const o = store.restream.add(channel, {
        id,
        name: b.name,
        url: target.url.href.replace(/\/+$/, ''),
        keySealed: control.sealer.seal(id, b.key),
        rendition: b.rendition,
      });
      logger.info({ stream: channel, output: id, host: target.url.host, via }, 'restream output added');
      return { output: outputView(o, control, channel) };
    },
    remove(channel: string, id: string) {
      if (!store.restream.remove(channel, id))
        throw new ApiError('NOT_FOUND', 'no such output on this channel');
      logger.info({ stream: channel, output: id, via }, 'restream output removed');
    },
  };
}
