import { lstatSync, mkdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { migrationsFolder } from '../paths.js';
import * as schema from './schema.js';
import { storageDiagnosis } from './storage-diagnosis.js';

export type Db = BetterSQLite3Database<typeof schema>;
export type Synchronous = 'normal' | 'full';

export type OpenOptions = {
  /** `normal` (default) loses nothing on a process crash; `full` also survives a power loss. */
  synchronous?: Synchronous;
  busyTimeoutMs?: number;
  /**
   * Another connection checkpoints the write-ahead log (see Checkpointer): this one then only
   * checkpoints when the log passes BACKSTOP_CHECKPOINT_PAGES, should that connection fall behind.
   */
  backgroundCheckpoints?: boolean;
  /** Page cache of this connection in MiB (default DEFAULT_CACHE_MB). */
  cacheMb?: number;
};

/**
 * Page size of a new database. A stored assessment is about 10 KB of JSON: with 8 KiB pages it
 * spans two pages instead of three, so a read walks one overflow page instead of two and a write
 * logs fewer frames. A database created with another page size keeps it.
 */
export const PAGE_SIZE = 8192;

/** SQLite's secure_delete on every connection that writes: see openDatabase. */
export const SECURE_DELETE = 'FAST';
/**
 * 16 MiB holds about 2,000 pages. A stored assessment read by id needs its table leaf in the cache,
 * with the interior pages above it shared by all rows (its overflow page, once checkpointed, is read
 * past the cache), so the leaves of a few thousand assessments read in turn stay in memory; the
 * pages of a larger hot set come from the operating system's file cache, at a system call each.
 * (Assessments stored with random UUIDs also need a leaf of their id index.) 32 MiB read no faster
 * and raised the server's peak RSS under load (bench/HISTORY.md, 2026-12-03).
 */
export const DEFAULT_CACHE_MB = 16;
/**
 * 256 MiB of 8 KiB pages. Under a steady write load the background checkpoints rarely empty the
 * log, so it grows until this backstop makes the writing connection checkpoint (and restart the
 * log) itself, which stalls its requests for tens of milliseconds on a large database: the larger
 * the backstop, the rarer the stall.
 */
export const BACKSTOP_CHECKPOINT_PAGES = 32_768;
/** After a checkpoint restarts the log, its file is cut back to this size. */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/** SQLite's own default, for a connection that checkpoints alone. */
export const SQLITE_AUTOCHECKPOINT_PAGES = 1_000;

/** Whether a database path names a private in-memory database (`:memory:`, or the empty path of a temporary one). */
export const isInMemoryPath = (path: string) => path === ':memory:' || path === '';

/** SQLite's `synchronous` setting for a durability level. */
export const synchronousPragma = (synchronous: Synchronous | undefined) => (synchronous === 'full' ? 'FULL' : 'NORMAL');

/**
 * Opens (creating if needed) the SQLite database, sets the pragmas once, and applies pending
 * migrations: `migrationsApplied` says how many.
 */
export function openDatabase(path: string, options: OpenOptions = {}) {
  const cacheMb = options.cacheMb ?? DEFAULT_CACHE_MB;
  if (!Number.isInteger(cacheMb) || cacheMb < 1) throw new RangeError(`cacheMb must be a whole number of MiB from 1, not ${cacheMb}`);
  const inMemory = isInMemoryPath(path);
  try {
    return open(path, inMemory, cacheMb, options);
  } catch (error) {
    throw databaseError(path, 'open or migrate', error);
  }
}

/** SQLite's code of an error or of the first of its causes that has one (`SQLITE_CORRUPT`); undefined when none is SQLite's. */
export function sqliteCodeOf(error: unknown): string | undefined {
  for (let inner: unknown = error; inner instanceof Error; inner = inner.cause) {
    const { code } = inner as { code?: unknown };
    if (code !== undefined) return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
  }
  return undefined;
}

/**
 * An error of a step on the database, for the operator: SQLite's own message ("file is not a
 * database", "database disk image is malformed") names no file, so this one names the file and the
 * step, gives SQLite's code, and says what about the file's storage stands out.
 */
export function databaseError(path: string, step: string, error: unknown): Error {
  const diagnosis = isInMemoryPath(path) ? undefined : storageDiagnosis(path);
  const code = sqliteCodeOf(error);
  const reason = reasonOf(error);
  // SQLITE_ERROR, SQLite's generic code, names nothing the message does not.
  const named = code !== undefined && code !== 'SQLITE_ERROR' && !reason.includes(code);
  return new Error(`cannot ${step} the database ${path}: ${reason}${named ? ` (${code})` : ''}${diagnosis ? `; ${diagnosis}` : ''}`, {
    cause: error,
  });
}

/**
 * The error's message, and the message of its innermost cause when that says something else: a
 * failed migration's own message names the migration and the statement, SQLite's reason (such as
 * "table `x` already exists") is its cause.
 */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  let inner = error;
  while (inner instanceof Error && inner.cause !== undefined) inner = inner.cause;
  const reason = inner instanceof Error ? inner.message : String(inner);
  return inner === error || message.includes(reason) ? message : `${reason} (${message})`;
}

let migrations: ReturnType<typeof readMigrationFiles> | undefined;
/** The migrations this build has, read once: their SQL, hash and the time drizzle records for each once applied. */
const migrationFiles = () => {
  migrations ??= readMigrationFiles({ migrationsFolder });
  return migrations;
};
let known: ReadonlySet<number> | undefined;
/** The times of the migrations this build has. */
const knownMigrations = () => {
  known ??= new Set(migrationFiles().map((m) => m.folderMillis));
  return known;
};

/**
 * How the migrations applied to a database compare with this build's: how many of this build's are
 * not applied, and the times of applied ones this build does not have (from another version, newer
 * or from before a migration was rewritten). drizzle runs only the migrations newer than the last
 * applied one, so it would not notice either.
 */
export function migrationState(sqlite: Database.Database): { missing: number; unknown: number[] } {
  const ours = knownMigrations();
  const table = sqlite.prepare(`select count(*) from sqlite_master where type = 'table' and name = '__drizzle_migrations'`).pluck().get();
  const applied = table === 0 ? [] : sqlite.prepare<[], number>('select created_at from __drizzle_migrations').pluck().all().map(Number);
  return {
    missing: [...ours].filter((when) => !applied.includes(when)).length,
    unknown: applied.filter((when) => !ours.has(when)),
  };
}

/**
 * Runs `step` again while SQLite answers SQLITE_BUSY, for `ms` at most. Switching a new database to
 * WAL answers busy at once, without waiting, while another process starting on the same file at the
 * same moment holds a lock on it.
 */
function whileBusy<T>(ms: number, step: () => T): T {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return step();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= until) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/**
 * Applies the migrations of this build newer than the last one the database records, as drizzle's
 * migrator does (its `__drizzle_migrations` table, each migration recorded by hash and time), but
 * in one transaction that takes the write lock before it reads what is applied. drizzle reads that
 * first and locks later, so two processes starting on one database at once both applied the same
 * migrations and the second failed ("table already exists"); now the second waits for the lock and
 * finds them applied. Returns how many it applied.
 */
function applyMigrations(sqlite: Database.Database): number {
  return sqlite
    .transaction(() => {
      sqlite.exec('create table if not exists __drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)');
      const last = sqlite.prepare('select created_at from __drizzle_migrations order by created_at desc limit 1').pluck().get();
      const record = sqlite.prepare('insert into __drizzle_migrations (hash, created_at) values (?, ?)');
      let applied = 0;
      for (const migration of migrationFiles()) {
        if (last !== undefined && Number(last) >= migration.folderMillis) continue;
        for (const statement of migration.sql) {
          try {
            sqlite.exec(statement);
          } catch (error) {
            const start = statement.trim().split('\n')[0]?.slice(0, 80);
            throw new Error(`the migration created ${new Date(migration.folderMillis).toISOString()} failed at: ${start}`, {
              cause: error,
            });
          }
        }
        record.run(migration.hash, migration.folderMillis);
        applied += 1;
      }
      return applied;
    })
    .immediate();
}

/**
 * Makes a folder and the missing folders above it, one level at a time. Node's recursive mkdir says
 * only `EEXIST` where the path runs through a file, and spins for ever where a file system refuses a
 * new folder with `ENOENT` (such as /proc).
 */
export function makeFolders(folder: string): void {
  let walked: ReturnType<typeof walkUp>;
  try {
    walked = walkUp(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOOP') throw error;
    throw new Error(`its folder path ${folder} runs through symbolic links that go round in a loop (ELOOP)`);
  }
  const { missing, file } = walked;
  if (file !== undefined) throw new Error(`its folder path runs through ${file}, which is a file, not a folder`);
  for (const at of missing) {
    try {
      mkdirSync(at);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Made meanwhile by another process starting on the same path.
      if (code === 'EEXIST' && kindOfPath(at) === 'folder') continue;
      // A link that leads to nothing: mkdir says only EEXIST.
      if (code === 'EEXIST' && isLink(at)) throw new Error(`its folder ${at} is a symbolic link to ${linkTarget(at)}, which is no folder`);
      // The message names the code: as a cause, Node's own message would be put before it.
      throw new Error(`cannot make its folder ${at}: ${FOLDER_REFUSALS[code ?? ''] ?? (error as Error).message}`);
    }
  }
}

const FOLDER_REFUSALS: Record<string, string> = {
  EACCES: 'this process may not write the folder above it (EACCES)',
  EPERM: 'the file system does not allow it (EPERM)',
  EROFS: 'the file system is read-only (EROFS)',
  ENOENT: 'the file system there does not take new folders (ENOENT)',
  ENOSPC: 'the disk is full (ENOSPC)',
};

/**
 * The folders missing on the way to `folder`, from the top down, and the file the path runs through
 * instead of a folder, if any (then a folder under it can never be made).
 */
function walkUp(folder: string): { missing: string[]; file?: string } {
  const missing: string[] = [];
  for (let at = resolve(folder); ; at = dirname(at)) {
    const found = kindOfPath(at);
    if (found === 'file') return { missing, file: at };
    if (found === 'folder' || dirname(at) === at) return { missing };
    missing.unshift(at);
  }
}

/** The file a folder's path runs through instead of a folder (`notes.txt` in `notes.txt/a/b`), if any. */
export const fileOnPath = (folder: string): string | undefined => walkUp(folder).file;

/** What is at a path: a folder, another kind of file, or nothing (also where the path runs through a file). */
export function kindOfPath(path: string): 'folder' | 'file' | undefined {
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat === undefined ? undefined : stat.isDirectory() ? 'folder' : 'file';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** Links followed before a chain is taken as a loop, as Linux does (its ELOOP limit is 40). */
const MAX_LINK_HOPS = 40;

/**
 * Why a symbolic link at `path` leads nowhere a database can be made, if it does: SQLite follows it
 * (through any chain of links), and makes the file the last one names where that file's folder
 * exists, but says only "unable to open database file" where it does not, or where the links go round
 * in a loop.
 */
function deadEndLink(path: string): string | undefined {
  if (!isLink(path)) return undefined;
  try {
    statSync(path);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') return undefined;
  }
  try {
    const first = linkTarget(path);
    let last = first;
    for (let hops = 1; isLink(last); hops++) {
      if (hops >= MAX_LINK_HOPS) return `it is a symbolic link to ${first}, and the links from there go round in a loop (ELOOP)`;
      last = linkTarget(last);
    }
    const leads = `it is a symbolic link to ${first}${last === first ? '' : `, which leads on to ${last}`}`;
    const folder = dirname(last);
    const file = fileOnPath(folder);
    if (file !== undefined) return `${leads}, whose folder path runs through ${file}, which is a file, not a folder`;
    return kindOfPath(folder) === 'folder' ? undefined : `${leads}, whose folder ${folder} does not exist`;
  } catch {
    // A link or folder on the way that cannot be read: SQLite's own message, as before.
    return undefined;
  }
}

const isLink = (path: string) => {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true;
  } catch {
    // ENOTDIR: the path runs through a file.
    return false;
  }
};

/** Where a link leads: a relative target is taken from the folder the link is really in. */
const linkTarget = (link: string) => resolve(realpathSync(dirname(link)), readlinkSync(link));

function open(path: string, inMemory: boolean, cacheMb: number, options: OpenOptions) {
  if (!inMemory) {
    makeFolders(dirname(path));
    const deadEnd = deadEndLink(path);
    if (deadEnd !== undefined) throw new Error(deadEnd);
    // SQLite says only "unable to open database file".
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new Error('it is a folder, not a database file');
  }
  const sqlite = new Database(path);
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  try {
    sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Takes effect only while the database is still empty, before WAL mode fixes it.
    sqlite.pragma(`page_size = ${PAGE_SIZE}`);
    if (!inMemory) whileBusy(busyTimeoutMs, () => sqlite.pragma('journal_mode = WAL'));
    sqlite.pragma(`synchronous = ${synchronousPragma(options.synchronous)}`);
    sqlite.pragma('foreign_keys = ON');
    // Content a write moves or deletes is zeroed where that costs no more I/O (a page split leaves no
    // copy of a row in the free space of the page it left): an erased assessment leaves no copy
    // behind that an earlier write made. The erasure itself zeroes everything it frees (ON).
    sqlite.pragma(`secure_delete = ${SECURE_DELETE}`);
    sqlite.pragma(`cache_size = -${cacheMb * 1024}`);
    // No memory map (the driver's default, set here so it stays so). A 64 MiB map covered a sliver of a
    // large database, SQLite sets a mapped page up again on every visit instead of keeping it in the
    // page cache, and mapped pages count in the resident memory; bench:scale showed no gain from it.
    sqlite.pragma('mmap_size = 0');
    if (!inMemory && options.backgroundCheckpoints) {
      sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
      sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    }
    const { unknown } = migrationState(sqlite);
    if (unknown.length > 0) {
      const when = unknown.map((ms) => new Date(ms).toISOString()).join(', ');
      throw new Error(
        `it records ${unknown.length === 1 ? 'a migration' : 'migrations'} this version of the API does not have (created ${when}): another version migrated it`,
      );
    }
    const applied = applyMigrations(sqlite);
    const db = drizzle({ client: sqlite, schema });
    // A file this process may only read opens without complaint and fails at its first write: write
    // the header's user_version as it is, and roll back, so that it fails here, where the error names
    // the file. (Taking the write lock alone succeeds on such a file.)
    const version = Number(sqlite.pragma('user_version', { simple: true }));
    sqlite.exec(`begin immediate; pragma user_version = ${version}; rollback`);
    // The log a crash or a reader elsewhere left can be past the backstop: the first commit would then
    // copy all of it into the file on the request thread, before the background connection starts
    // (a 1 GB log stopped every request, /health included, for 3.6-5 s after the server said it was
    // ready). Copied here, the start takes that time instead, and the first commit restarts the log.
    // A passive checkpoint waits for no other connection.
    if (!inMemory && options.backgroundCheckpoints) sqlite.pragma('wal_checkpoint(PASSIVE)');
    return { sqlite, db, migrationsApplied: applied };
  } catch (error) {
    sqlite.close();
    throw error;
  }
}
