/** Custom chat emoji: small PNG/GIF/WebP images, typed by their magic bytes rather than by what callers claim. */
import { HubError } from './errors.js';
import { isUniqueViolation, type RepoContext } from './repo-context.js';
import type { EmojiRecord, EmojiRepo } from './types.js';
import { checkEmojiData, checkEmojiName } from './validate.js';

export function createEmojiRepo(ctx: RepoContext): EmojiRepo {
  const { db } = ctx;
  const insert = db.prepare<[string, string, Buffer, number]>(
    'INSERT INTO emoji (name, mime, data, created_at) VALUES (?, ?, ?, ?)',
  );
  const del = db.prepare<[string]>('DELETE FROM emoji WHERE name = ?');
  const list = db.prepare<[], { name: string; mime: EmojiRecord['mime'] }>(
    'SELECT name, mime FROM emoji ORDER BY name',
  );
  const get = db.prepare<[string], EmojiRecord>('SELECT name, mime, data FROM emoji WHERE name = ?');

  return {
    add(e) {
      const name = checkEmojiName(e.name);
      const { data, mime } = checkEmojiData(name, e.data, e.mime);
      ctx.names.refuseEmojiTaken(name);
      try {
        insert.run(name, mime, data, ctx.now());
        ctx.names.setKey('emoji', name);
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new HubError('DUPLICATE_NAME', 'an emoji with this name already exists', { emoji: name });
        }
        throw err;
      }
    },
    remove(name) {
      if (del.run(name).changes === 0) throw new HubError('UNKNOWN_NAME', 'no such emoji', { emoji: name });
    },
    list() {
      return list.all();
    },
    get(name) {
      return typeof name === 'string' ? get.get(name) : undefined;
    },
  };
}
