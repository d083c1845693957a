/**
 * A throwaway PostgreSQL cluster for one test file: initdb into a temp dir, pg_ctl start on a free port
 * (127.0.0.1, and the unix socket in the temp dir), stop() shuts it down fast and removes the dir. Run as the
 * `postgres` OS user when the tests run as root (the server refuses root). Debian's binaries
 * (/usr/lib/postgresql/N/bin; scripts/install-deps.sh --test installs them); `postgresMissing()` says why a
 * test must skip. Local connections trust; TCP wants a password (roles made with `createRole`).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PgCluster {
  /** The socket directory (also the cluster's temp dir). */
  socketDir: string;
  /** The cluster's data directory (PGDATA). */
  dataDir: string;
  port: number;
  /** A superuser URL over the unix socket for `database`. */
  url(database: string): string;
  /** Creates a database (owned by `owner`, default postgres) and returns its superuser URL. */
  createDatabase(name: string, owner?: string): Promise<string>;
  /** A login role with a password; returns nothing (TCP URLs are built by the caller). */
  createRole(name: string, password: string): Promise<void>;
  /** Runs SQL as the superuser in `database`. */
  sql(database: string, text: string, values?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresMissing(): string | undefined {
  if (!binDir())
    return 'PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (scripts/install-deps.sh --test installs them)';
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return 'running as root but there is no postgres OS user to run the server as';
    }
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export async function startPostgres(): Promise<PgCluster> {
  const bin = binDir();
  if (!bin) throw new Error(postgresMissing());
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    execFileSync(
      asRoot ? 'runuser' : join(bin, cmd),
      asRoot ? ['-u', 'postgres', '--', join(bin, cmd), ...args] : args,
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  const dir = mkdtempSync(join(tmpdir(), 'tiercast-pg-'));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  try {
    run('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
      '--no-instructions',
    ]);
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    run('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`cannot start PostgreSQL: ${e.stderr?.toString() || e.message}`);
  }
  const url = (database: string) =>
    `postgres://postgres@localhost/${database}?host=${encodeURIComponent(dir)}&port=${port}`;
  const sql = async (database: string, text: string, values?: unknown[]) => {
    const c = new pg.Client({ host: dir, port, user: 'postgres', database });
    await c.connect();
    try {
      return await c.query(text, values);
    } finally {
      await c.end();
    }
  };
  let stopped = false;
  return {
    socketDir: dir,
    dataDir: data,
    port,
    url,
    sql,
    async createDatabase(name, owner = 'postgres') {
      await sql('postgres', `CREATE DATABASE "${name}" OWNER "${owner}"`);
      return url(name);
    },
    async createRole(name, password) {
      // The password is a literal in DDL (no parameters there); test passwords are plain ASCII.
      await sql('postgres', `CREATE ROLE "${name}" LOGIN PASSWORD '${password.replaceAll("'", "''")}'`);
    },
    stop() {
      if (stopped) return Promise.resolve();
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return Promise.resolve();
    },
  };
}
