/**
 * ChatOutput as the hub uses it: an output that throws (a closed socket, a bug in the transport) is logged
 * and costs that one delivery, never the hub's state or the other recipients.
 */
import { callSafely } from '../../common/events/safe-emitter.js';
import type { Logger } from '../../common/logging/index.js';
import type { ChatEvent, ConnRef } from './events.js';
import type { Line } from '../../common/chat/lines.js';
import type { ChatNoticeCode, ChatOutput } from './types.js';

export class SafeOutput {
  constructor(
    private readonly output: ChatOutput,
    private readonly logger: Logger,
  ) {}

  broadcast(channel: string, event: ChatEvent): void {
    this.safely('broadcast', () => this.output.broadcast(channel, event), { channel, event: event.type });
  }

  direct(ref: ConnRef, event: ChatEvent): void {
    this.safely('direct', () => this.output.direct(ref, event), { edge: ref.edge, event: event.type });
  }

  kick(ref: ConnRef, reason: string): void {
    this.safely('kick', () => this.output.kick(ref, reason), { edge: ref.edge, reason });
  }

  notice(ref: ConnRef, level: 'info' | 'error', code: ChatNoticeCode | undefined, line: Line): void {
    this.direct(ref, {
      type: 'notice',
      level,
      ...(code === undefined ? {} : { code }),
      text: line.text,
      ...(line.key === undefined ? {} : { key: line.key }),
      ...(line.params === undefined ? {} : { params: line.params }),
    });
  }

  private safely(op: string, fn: () => void, ctx: Record<string, unknown>): void {
    callSafely(this.logger, 'chat output failed', { op, ...ctx }, fn);
  }
}
