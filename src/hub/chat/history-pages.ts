/**
 * The history a joining viewer gets, cut to what the path carries: the newest messages within
 * MAX_HISTORY_BYTES, in pages of at most MAX_CHAT_EVENT_BYTES so each page is one link message. Without this
 * a few legal drawings made a history larger than a link message, and every join dropped the edge's link.
 *
 * A stored message that cannot fit a page on its own (stored under an older, larger limit) is replaced by
 * a short system line rather than sent or silently skipped.
 */
import { MAX_CHAT_EVENT_BYTES, MAX_HISTORY_BYTES } from '../../common/chat/index.js';
import type { ChatMessageView } from './events.js';
import { system } from '../../common/chat/lines.js';

export interface HistoryBudget {
  /** Bytes of JSON of the messages in one page. */
  pageBytes: number;
  /** Bytes of JSON of all pages together. */
  totalBytes: number;
}

/** Room in a page for the history event around its messages (`{"type":"history","channel":…,"messages":[]}`). */
const PAGE_WRAPPER_BYTES = 256;

export const DEFAULT_HISTORY_BUDGET: HistoryBudget = {
  pageBytes: MAX_CHAT_EVENT_BYTES - PAGE_WRAPPER_BYTES,
  totalBytes: MAX_HISTORY_BYTES,
};

const size = (m: ChatMessageView) => Buffer.byteLength(JSON.stringify(m), 'utf8') + 1; // + the comma

function tooLargeToShow(m: ChatMessageView): ChatMessageView {
  const line = system.tooLarge(m.kind === 'drawing', m.author.slice(0, 64));
  return {
    seq: m.seq,
    kind: 'system',
    author: 'system',
    color: m.color,
    badge: 'system',
    text: line.text,
    at: m.at,
    key: line.key!,
    params: line.params!,
  };
}

/** `messages` oldest first; returns pages oldest first, at least one (possibly empty: it clears the viewer's list). */
export function pageHistory(
  messages: readonly ChatMessageView[],
  budget: HistoryBudget = DEFAULT_HISTORY_BUDGET,
): ChatMessageView[][] {
  const kept: Array<{ m: ChatMessageView; bytes: number }> = [];
  let total = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    let m = messages[i]!;
    let bytes = size(m);
    if (bytes > budget.pageBytes) {
      m = tooLargeToShow(m);
      bytes = size(m);
    }
    if (total + bytes > budget.totalBytes) break;
    total += bytes;
    kept.push({ m, bytes });
  }
  kept.reverse();
  const pages: ChatMessageView[][] = [[]];
  let pageBytes = 0;
  for (const { m, bytes } of kept) {
    if (pageBytes + bytes > budget.pageBytes && pages.at(-1)!.length > 0) {
      pages.push([]);
      pageBytes = 0;
    }
    pages.at(-1)!.push(m);
    pageBytes += bytes;
  }
  return pages;
}
