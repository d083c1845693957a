/**
 * Administration, as domain functions over an open Store: `node-role streamer|emoji|user …` parses its
 * arguments and calls these; they validate, act, and return what the CLI prints. A generated stream key is
 * returned once, here, for the CLI to show; it is stored only as a hash and cannot be shown again.
 * Errors are HubErrors (DUPLICATE_NAME, UNKNOWN_NAME, INVALID_VALUE) with the name in the context.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { StreamerConfig } from '../common/config/index.js';
import { HubError } from './store/errors.js';
import {
  RECORDING_CHOICES,
  type EmojiRecord,
  type Store,
  type StreamerRecord,
  type StreamerRecordingChoice,
  type StreamerTranscode,
  type UserRecord,
  type UserRole,
} from './store/types.js';
import { LIMITS, checkEmojiData, checkEmojiName, checkRole, checkStreamKey } from './store/validate.js';

/** 24 random bytes as base64url: 32 characters, 192 bits. */
export function generateStreamKey(): string {
  return randomBytes(24).toString('base64url');
}

export interface StreamerAddInput {
  name: string;
  key?: string;
  title?: string;
  description?: string;
  category?: string;
  password?: string;
}

export interface StreamerResult {
  streamer: StreamerRecord;
  /** Only when tiercast chose the key: show it to the operator now, it is not stored in clear anywhere. */
  generatedKey?: string;
}

export function streamerAdd(store: Store, input: StreamerAddInput): StreamerResult {
  const generatedKey = input.key === undefined ? generateStreamKey() : undefined;
  const streamer = store.streamers.add({ ...input, key: input.key ?? (generatedKey as string) });
  return generatedKey === undefined ? { streamer } : { streamer, generatedKey };
}

export interface StreamerSetInput {
  title?: string;
  description?: string;
  category?: string;
  /** A new viewing password, or null to make the stream public again. */
  password?: string | null;
  /** Replace the key with a generated one. */
  rotateKey?: boolean;
  /** Replace the key with this one. */
  key?: string;
  /** This streamer's transcode mode on every ingress; null: each ingress's own `transcode.mode`. */
  transcode?: StreamerTranscode | null;
  /** Whether and what ingresses record of this streamer; null: each ingress's own `recording`. */
  recording?: StreamerRecordingChoice | null;
}

/** `--recording` as typed: off, all, source, top-and-lowest, `default` (null), or absent (unchanged). */
export function parseRecording(value: string | undefined): StreamerRecordingChoice | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'default') return null;
  const choice = RECORDING_CHOICES.find((c) => c === value);
  if (choice) return choice;
  throw new HubError('INVALID_VALUE', 'recording is one of off, all, source, top-and-lowest, default', {
    recording: value.slice(0, 32),
  });
}

/** `--transcode` as typed: a mode, `default` (null: the ingress decides), or absent (unchanged). */
export function parseTranscode(value: string | undefined): StreamerTranscode | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'default') return null;
  if (value === 'ladder' || value === 'passthrough' || value === 'off') return value;
  throw new HubError('INVALID_VALUE', 'transcode is one of ladder, passthrough, off, default', {
    transcode: value.slice(0, 32),
  });
}

export function streamerSet(store: Store, name: string, patch: StreamerSetInput): StreamerResult {
  if (patch.rotateKey && patch.key !== undefined) {
    throw new HubError('INVALID_VALUE', 'give either a new key or rotateKey, not both', { streamer: name });
  }
  if (!store.streamers.get(name)) throw new HubError('UNKNOWN_NAME', 'no such streamer', { streamer: name });
  // Check the key before changing anything, so a bad key does not leave the profile half-updated.
  if (patch.key !== undefined) checkStreamKey(patch.key, { streamer: name });
  const profile: Parameters<Store['streamers']['update']>[1] = {};
  if (patch.title !== undefined) profile.title = patch.title;
  if (patch.description !== undefined) profile.description = patch.description;
  if (patch.category !== undefined) profile.category = patch.category;
  if (patch.password !== undefined) profile.password = patch.password;
  if (patch.transcode !== undefined) profile.transcode = patch.transcode;
  if (patch.recording !== undefined) profile.recording = patch.recording;
  let streamer = store.streamers.update(name, profile);
  const generatedKey = patch.rotateKey ? generateStreamKey() : undefined;
  const newKey = patch.key ?? generatedKey;
  if (newKey !== undefined) {
    store.streamers.rotateKey(name, newKey);
    streamer = store.streamers.get(name) ?? streamer;
  }
  return generatedKey === undefined ? { streamer } : { streamer, generatedKey };
}

export function streamerList(store: Store): StreamerRecord[] {
  return store.streamers.list();
}

export function streamerRemove(store: Store, name: string): void {
  store.streamers.remove(name);
}

export interface EmojiInfo {
  name: string;
  mime: EmojiRecord['mime'];
  bytes: number;
}

/** Reads an image file and adds it as emoji `name`; its type comes from its bytes, not its extension. */
export async function emojiAdd(store: Store, name: string, filePath: string): Promise<EmojiInfo> {
  checkEmojiName(name);
  if (store.emoji.get(name))
    throw new HubError('DUPLICATE_NAME', 'an emoji with this name already exists', { emoji: name });
  let data: Buffer;
  try {
    const fh = await open(filePath, 'r');
    try {
      const { size } = await fh.stat();
      // Checked before reading, so pointing the CLI at a video file does not load it into memory.
      if (size > LIMITS.emojiBytes) {
        throw new HubError(
          'INVALID_VALUE',
          `emoji image is ${size} bytes, over the ${LIMITS.emojiBytes}-byte limit`,
          { emoji: name, file: filePath },
        );
      }
      data = await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof HubError) throw err;
    throw new HubError(
      'INVALID_VALUE',
      `cannot read emoji image: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { emoji: name, file: filePath },
    );
  }
  const checked = checkEmojiData(name, data);
  store.emoji.add({ name, mime: checked.mime, data: checked.data });
  return { name, mime: checked.mime, bytes: checked.data.length };
}

export function emojiRemove(store: Store, name: string): void {
  store.emoji.remove(name);
}

export function emojiList(store: Store): EmojiInfo[] {
  return store.emoji
    .list()
    .map(({ name, mime }) => ({ name, mime, bytes: store.emoji.get(name)?.data.length ?? 0 }));
}

export function userAdd(store: Store, name: string, password: string, role: UserRole = 'user'): UserRecord {
  return store.users.create(name, password, checkRole(role));
}

export function userRemove(store: Store, name: string): void {
  store.users.remove(name);
}

export function userList(store: Store): UserRecord[] {
  return store.users.list();
}

export function userSetRole(store: Store, name: string, role: string): UserRecord {
  return store.users.setRole(name, checkRole(role));
}

export function userSetPassword(store: Store, name: string, password: string): void {
  store.users.setPassword(name, password);
}

// ---- tables for `… list` ---------------------------------------------------------------------------

/** Printable: controls (an ESC would repaint the admin's terminal) shown as `?`, long values cut. */
export function cell(value: string, max = 40): string {
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  const chars = [...clean];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : clean;
}

function date(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16);
}

/** Left-aligned columns, two spaces apart, with a header row. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - [...c].length)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Where a streamer is defined: the ingress config's `streamers:` list, or the hub's store. */
export type StreamerSource = 'config' | 'hub';

/** One row of `streamer list`: what the table shows, from either source (never a key or a hash). */
export interface StreamerListEntry {
  name: string;
  title: string;
  category: string;
  /** A viewing password is set (only the hub has them). */
  password: boolean;
  transcode: StreamerTranscode | 'default';
  createdAt: number | null;
  lastLiveAt: number | null;
  source: StreamerSource;
}

/**
 * The hub's streamers and those of an ingress config, by name; for a name in both, the config's row comes
 * first: the ingress tries its config's keys before asking the hub (ChainedAuthorizer).
 */
export function streamerEntries(
  hub: StreamerRecord[],
  config: readonly StreamerConfig[] = [],
): StreamerListEntry[] {
  const rows: StreamerListEntry[] = [
    ...config.map((s) => ({
      name: s.name,
      title: s.title ?? '',
      category: s.category ?? '',
      password: false,
      transcode: s.transcode ?? ('default' as const),
      createdAt: null,
      lastLiveAt: null,
      source: 'config' as const,
    })),
    ...hub.map((s) => ({
      name: s.name,
      title: s.title,
      category: s.category,
      password: s.hasPassword,
      transcode: s.transcode ?? ('default' as const),
      createdAt: s.createdAt,
      lastLiveAt: s.lastLiveAt,
      source: 'hub' as const,
    })),
  ];
  // Stable: for one name, config before hub.
  return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Never shows keys or password hashes: the entries do not carry them. */
export function formatStreamerTable(list: StreamerListEntry[]): string {
  if (list.length === 0) return 'no streamers';
  return formatTable(
    ['NAME', 'TITLE', 'CATEGORY', 'PASSWORD', 'TRANSCODE', 'CREATED', 'LAST LIVE', 'SOURCE'],
    list.map((s) => [
      cell(s.name, 64),
      cell(s.title || '-'),
      cell(s.category || '-', 24),
      s.password ? 'yes' : 'no',
      s.transcode,
      date(s.createdAt),
      date(s.lastLiveAt),
      s.source,
    ]),
  );
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** `streamer list --json`: the table's columns as fields (dates ISO 8601 or null), built field by field. */
export function streamersJson(list: StreamerListEntry[]): object[] {
  return list.map((s) => ({
    name: s.name,
    title: s.title,
    category: s.category,
    password: s.password,
    transcode: s.transcode,
    created: iso(s.createdAt),
    lastLive: iso(s.lastLiveAt),
    source: s.source,
  }));
}

/** `user list --json`: id, name, role, created; never the password hash (the record has none). */
export function usersJson(list: UserRecord[]): object[] {
  return list.map((u) => ({ id: u.id, name: u.name, role: u.role, created: iso(u.createdAt) }));
}

/** `emoji list --json`: name, type, bytes (not the image). */
export function emojiJson(list: EmojiInfo[]): object[] {
  return list.map((e) => ({ name: e.name, type: e.mime, bytes: e.bytes }));
}

export function formatUserTable(list: UserRecord[]): string {
  if (list.length === 0) return 'no users';
  return formatTable(
    ['ID', 'NAME', 'ROLE', 'CREATED'],
    list.map((u) => [String(u.id), cell(u.name), u.role, date(u.createdAt)]),
  );
}

export function formatEmojiTable(list: EmojiInfo[]): string {
  if (list.length === 0) return 'no emoji';
  return formatTable(
    ['NAME', 'TYPE', 'BYTES'],
    list.map((e) => [cell(e.name), e.mime, String(e.bytes)]),
  );
}
