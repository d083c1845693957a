/**
 * Accounts: name (unique and matched regardless of case, like chat names), scrypt password hash, role.
 * verify does one scrypt whether or not the account exists, so a login does not reveal which names exist.
 */
import { hashSecret, verifyNothing, verifySecret } from '../auth/passwords.js';
import { HubError } from './errors.js';
import { isUniqueViolation, type RepoContext } from './repo-context.js';
import type { UserRecord, UserRepo, UserRole } from './types.js';
import { checkPassword, checkRole, checkUserName } from './validate.js';

interface Row {
  id: number;
  name: string;
  role: UserRole;
  created_at: number;
}

const COLUMNS = 'id, name, role, created_at';

function toRecord(r: Row): UserRecord {
  return { id: r.id, name: r.name, role: r.role, createdAt: r.created_at };
}

export function createUserRepo(ctx: RepoContext): UserRepo {
  const { db } = ctx;
  const byName = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM users WHERE name = ?`);
  const byId = db.prepare<[number], Row>(`SELECT ${COLUMNS} FROM users WHERE id = ?`);
  const withHash = db.prepare<[string], Row & { password_hash: string }>(
    `SELECT ${COLUMNS}, password_hash FROM users WHERE name = ?`,
  );
  const all = db.prepare<[], Row>(`SELECT ${COLUMNS} FROM users ORDER BY name`);
  const insert = db.prepare<[string, string, UserRole, number], { id: number }>(
    'INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?) RETURNING id',
  );
  const del = db.prepare<[string]>('DELETE FROM users WHERE name = ?');
  const linkOwner = db.prepare<[number, string]>('UPDATE streamers SET owner_user_id = ? WHERE name = ?');
  const setRoleStmt = db.prepare<[UserRole, string]>('UPDATE users SET role = ? WHERE name = ?');
  const setHash = db.prepare<[string, string]>('UPDATE users SET password_hash = ? WHERE name = ?');

  function require(name: string): Row {
    const row = typeof name === 'string' ? byName.get(name) : undefined;
    if (!row) throw new HubError('UNKNOWN_NAME', 'no such user', { user: name });
    return row;
  }

  return {
    create(name, password, role = 'user', claim) {
      checkUserName(name);
      checkPassword(password, { user: name });
      checkRole(role);
      if (byName.get(name))
        throw new HubError('DUPLICATE_NAME', 'a user with this name already exists', { user: name });
      ctx.names.refuseTaken('user', name, claim);
      try {
        const hash = hashSecret(password);
        ctx.db.transaction(() => {
          const id = insert.get(name, hash, role, ctx.now())?.id;
          ctx.names.setKey('users', name);
          if (claim !== undefined && id !== undefined) linkOwner.run(id, claim);
        })();
      } catch (err) {
        if (isUniqueViolation(err))
          throw new HubError('DUPLICATE_NAME', 'a user with this name already exists', { user: name });
        throw err;
      }
      ctx.logger.info(
        { user: name, role, ...(claim !== undefined ? { ownerOf: claim } : {}) },
        'user created',
      );
      return toRecord(require(name));
    },

    verify(name, password) {
      const row = typeof name === 'string' && name.length <= 64 ? withHash.get(name) : undefined;
      if (typeof password !== 'string' || password.length > 1024 || !row) {
        verifyNothing(typeof password === 'string' ? password.slice(0, 1024) : '');
        return undefined;
      }
      return verifySecret(password, row.password_hash) ? toRecord(row) : undefined;
    },

    get(id) {
      const row = Number.isSafeInteger(id) ? byId.get(id) : undefined;
      return row ? toRecord(row) : undefined;
    },

    getByName(name) {
      const row = typeof name === 'string' ? byName.get(name) : undefined;
      return row ? toRecord(row) : undefined;
    },

    list() {
      return all.all().map(toRecord);
    },

    remove(name) {
      // Their follows and moderator seats go with them (ON DELETE CASCADE); sanctions stay (they name a person).
      if (del.run(name).changes === 0) throw new HubError('UNKNOWN_NAME', 'no such user', { user: name });
      ctx.logger.info({ user: name }, 'user removed');
    },

    setRole(name, role) {
      checkRole(role);
      require(name);
      setRoleStmt.run(role, name);
      ctx.logger.info({ user: name, role }, 'user role changed');
      return toRecord(require(name));
    },

    setPassword(name, password) {
      require(name);
      checkPassword(password, { user: name });
      setHash.run(hashSecret(password), name);
      ctx.logger.info({ user: name }, 'user password changed');
    },
  };
}
