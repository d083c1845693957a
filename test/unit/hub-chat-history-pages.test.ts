/**
 * History on join is cut into pages that each fit one edge ↔ hub link message, within a byte budget, and a
 * stored message too large for any page (stored under an older limit) becomes a short system line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_CHAT_EVENT_BYTES,
  MAX_DRAWING_BYTES,
  MAX_HISTORY_BYTES,
  MAX_LINK_MESSAGE_BYTES,
} from '../../src/common/chat/index.js';
import { encodeLinkChecked } from '../../src/common/protocol/index.js';
import { pageHistory } from '../../src/hub/chat/history-pages.js';
import type { ChatMessageView } from '../../src/hub/chat/events.js';

const drawing = (seq: number, bytes: number): ChatMessageView => ({
  seq,
  kind: 'drawing',
  author: `guest${seq}`,
  color: '#ffffff',
  badge: 'guest',
  text: '',
  image: `data:image/png;base64,${'A'.repeat(bytes - 22)}`,
  at: 1_700_000_000_000 + seq,
});
const text = (seq: number, t: string): ChatMessageView => ({
  seq,
  kind: 'text',
  author: 'ann',
  color: '#ffffff',
  badge: 'user',
  text: t,
  at: 1 + seq,
});

function linkBytes(channel: string, messages: ChatMessageView[], append: boolean): number {
  const event = { type: 'history', channel, messages, ...(append ? { append: true } : {}) };
  return Buffer.byteLength(encodeLinkChecked({ t: 'direct', conn: 'c'.repeat(64), event }), 'utf8');
}

test('eight of the largest drawings: every one delivered, in seq order, each page one link message', () => {
  const msgs = Array.from({ length: 8 }, (_, i) => drawing(i + 1, MAX_DRAWING_BYTES));
  const pages = pageHistory(msgs);
  assert.deepEqual(
    pages.flat().map((m) => m.seq),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.ok(pages.length >= 4, `${pages.length} pages`);
  pages.forEach((p, i) => assert.ok(linkBytes('x'.repeat(64), p, i > 0) <= MAX_LINK_MESSAGE_BYTES));
});

test('the newest messages within the byte budget; older ones are left out, not cut', () => {
  const msgs = [...Array.from({ length: 30 }, (_, i) => drawing(i + 1, 100_000)), text(31, 'latest')];
  const seqs = pageHistory(msgs)
    .flat()
    .map((m) => m.seq);
  assert.equal(seqs.at(-1), 31);
  assert.ok(seqs.length < 31 && seqs.length >= 20, `${seqs.length} kept`);
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, i) => 32 - seqs.length + i),
  );
  const total = pageHistory(msgs)
    .flat()
    .reduce((n, m) => n + Buffer.byteLength(JSON.stringify(m)), 0);
  assert.ok(total <= MAX_HISTORY_BYTES);
});

test('a stored message larger than a page is replaced by a system line, and the rest still arrives', () => {
  const huge = drawing(2, 2_000_000); // stored when the limit was 2 MB
  const pages = pageHistory([text(1, 'before'), huge, text(3, 'after')]);
  const flat = pages.flat();
  assert.deepEqual(
    flat.map((m) => m.seq),
    [1, 2, 3],
  );
  assert.equal(flat[1]!.kind, 'system');
  assert.equal(flat[1]!.image, undefined);
  assert.match(flat[1]!.text, /drawing by guest2 is too large/);
  assert.deepEqual([flat[1]!.key, flat[1]!.params], ['chat.system.tooLargeDrawing', { name: 'guest2' }]);
  for (const p of pages) assert.ok(Buffer.byteLength(JSON.stringify(p)) <= MAX_CHAT_EVENT_BYTES);
});

test("short histories are one page; an empty history is one empty page (it clears the viewer's list)", () => {
  assert.deepEqual(pageHistory([]), [[]]);
  const msgs = Array.from({ length: 50 }, (_, i) => text(i + 1, `m${i}`));
  assert.equal(pageHistory(msgs).length, 1);
});

test('a link message over the limit is refused by the encoder with PROTOCOL_FRAME_TOO_LARGE', () => {
  const event = {
    type: 'history',
    channel: 'cam',
    messages: Array.from({ length: 8 }, (_, i) => drawing(i + 1, 99_000)),
  };
  assert.throws(() => encodeLinkChecked({ t: 'direct', conn: 'c1', event }), {
    code: 'PROTOCOL_FRAME_TOO_LARGE',
  });
});
