/**
 * Value rules for everything the store accepts. Checked in TypeScript (so errors name the field) and,
 * where cheap, again by CHECK constraints in the schema. Lengths count code points, not UTF-16 units.
 */
import { MAX_STREAM_KEY_CHARS } from '../../common/protocol/node-api-limits.js';
import { HubError } from './errors.js';
import type { EmojiRecord, UserRole } from './types.js';

export const LIMITS = {
  titleChars: 140,
  descriptionChars: 2000,
  categoryChars: 64,
  minPasswordChars: 8,
  minKeyChars: 16,
  /** Upper bound on any secret: scrypt cost does not depend on it, but nobody types 1 MB passwords. */
  maxSecretChars: 1024,
  emojiBytes: 64 * 1024,
} as const;

const STREAMER_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const USER_NAME = /^[A-Za-z0-9_-]{2,32}$/;
const EMOJI_NAME = /^[a-z0-9_]{1,32}$/;
// C0, DEL and C1 controls: a title with ESC (or 8-bit CSI) in it would repaint the admin's terminal.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_BUT_NEWLINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** A value quoted for an error message: short, and safe to print. */
export function shown(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  const cut = [...s].length > 40 ? `${[...s].slice(0, 40).join('')}…` : s;
  return JSON.stringify(cut);
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function checkStreamerName(name: unknown): string {
  if (typeof name !== 'string' || !STREAMER_NAME.test(name)) {
    throw new HubError('INVALID_VALUE', `invalid streamer name ${shown(name)}: 1-64 of A-Z a-z 0-9 _ -`);
  }
  return name;
}

export function checkUserName(name: unknown): string {
  if (typeof name !== 'string' || !USER_NAME.test(name)) {
    throw new HubError('INVALID_VALUE', `invalid user name ${shown(name)}: 2-32 of A-Z a-z 0-9 _ -`);
  }
  return name;
}

export function checkEmojiName(name: unknown): string {
  if (typeof name !== 'string' || !EMOJI_NAME.test(name)) {
    throw new HubError('INVALID_VALUE', `invalid emoji name ${shown(name)}: 1-32 of a-z 0-9 _`);
  }
  return name;
}

function checkText(
  field: string,
  value: unknown,
  max: number,
  allowNewlines: boolean,
  context: Record<string, string>,
): string {
  if (typeof value !== 'string') throw new HubError('INVALID_VALUE', `${field} must be a string`, context);
  if (codePoints(value) > max)
    throw new HubError('INVALID_VALUE', `${field} is longer than ${max} characters`, context);
  if ((allowNewlines ? CONTROL_BUT_NEWLINES : CONTROL).test(value)) {
    throw new HubError('INVALID_VALUE', `${field} contains control characters`, context);
  }
  return value;
}

export function checkTitle(value: unknown, streamer: string): string {
  return checkText('title', value, LIMITS.titleChars, false, { streamer });
}

export function checkDescription(value: unknown, streamer: string): string {
  return checkText('description', value, LIMITS.descriptionChars, true, { streamer });
}

export function checkCategory(value: unknown, streamer: string): string {
  return checkText('category', value, LIMITS.categoryChars, false, { streamer });
}

/** Passwords (accounts and stream viewing passwords). The value never appears in the message. */
export function checkPassword(value: unknown, context: Record<string, string>): string {
  if (typeof value !== 'string' || codePoints(value) < LIMITS.minPasswordChars) {
    throw new HubError(
      'INVALID_VALUE',
      `password must have at least ${LIMITS.minPasswordChars} characters`,
      context,
    );
  }
  if (value.length > LIMITS.maxSecretChars) {
    throw new HubError(
      'INVALID_VALUE',
      `password is longer than ${LIMITS.maxSecretChars} characters`,
      context,
    );
  }
  return value;
}

/** Stream keys. The value never appears in the message. */
export function checkStreamKey(value: unknown, context: Record<string, string>): string {
  if (typeof value !== 'string' || value.length < LIMITS.minKeyChars) {
    throw new HubError(
      'INVALID_VALUE',
      `stream key must have at least ${LIMITS.minKeyChars} characters`,
      context,
    );
  }
  // Not maxSecretChars: a key longer than what RTMP sessions and the hub's key check accept could never publish.
  if (value.length > MAX_STREAM_KEY_CHARS) {
    throw new HubError(
      'INVALID_VALUE',
      `stream key is longer than ${MAX_STREAM_KEY_CHARS} characters`,
      context,
    );
  }
  // RTMP clients send the key as the publish name: whitespace or controls would never arrive intact.
  if (/\s/.test(value) || CONTROL.test(value)) {
    throw new HubError(
      'INVALID_VALUE',
      'stream key must not contain whitespace or control characters',
      context,
    );
  }
  return value;
}

export function checkRole(role: unknown): UserRole {
  if (role !== 'user' && role !== 'admin')
    throw new HubError('INVALID_VALUE', `invalid role ${shown(role)}: user or admin`);
  return role;
}

/** The image type by its magic bytes, whatever the file is called. */
export function sniffImageMime(data: Uint8Array): EmojiRecord['mime'] | undefined {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png';
  if (b.length >= 6 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a'))
    return 'image/gif';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP')
    return 'image/webp';
  return undefined;
}

export function checkEmojiData(
  name: string,
  data: unknown,
  mime?: unknown,
): { data: Buffer; mime: EmojiRecord['mime'] } {
  if (!Buffer.isBuffer(data))
    throw new HubError('INVALID_VALUE', 'emoji data must be bytes', { emoji: name });
  if (data.length === 0) throw new HubError('INVALID_VALUE', 'emoji image is empty', { emoji: name });
  if (data.length > LIMITS.emojiBytes) {
    throw new HubError(
      'INVALID_VALUE',
      `emoji image is ${data.length} bytes, over the ${LIMITS.emojiBytes}-byte limit`,
      { emoji: name },
    );
  }
  const sniffed = sniffImageMime(data);
  if (!sniffed)
    throw new HubError('INVALID_VALUE', 'emoji image is not a PNG, GIF or WebP file', { emoji: name });
  if (mime !== undefined && mime !== sniffed) {
    throw new HubError('INVALID_VALUE', `emoji image is ${sniffed}, not ${shown(mime)}`, { emoji: name });
  }
  return { data, mime: sniffed };
}
