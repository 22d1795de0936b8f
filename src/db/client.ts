import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { migrationsFolder } from '../paths.js';
import * as schema from './schema.js';

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
/**
 * 32 MiB holds about 4,000 pages. A stored assessment read by id needs its table leaf in the cache,
 * with the interior pages above it shared by all rows (its overflow page, once checkpointed, is read
 * past the cache), so the leaves of a few thousand assessments read in turn stay in memory; the
 * pages of a larger hot set come from the operating system's file cache, at a system call each.
 * (Assessments stored with random UUIDs also need a leaf of their id index.)
 */
export const DEFAULT_CACHE_MB = 32;
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

/** Opens (creating if needed) the SQLite database, sets the pragmas once, and applies pending migrations. */
export function openDatabase(path: string, options: OpenOptions = {}) {
  const cacheMb = options.cacheMb ?? DEFAULT_CACHE_MB;
  if (!Number.isInteger(cacheMb) || cacheMb < 1) throw new RangeError(`cacheMb must be a whole number of MiB from 1, not ${cacheMb}`);
  const inMemory = path === ':memory:' || path === '';
  try {
    return open(path, inMemory, cacheMb, options);
  } catch (error) {
    // SQLite's own message ("file is not a database", "attempt to write a readonly database") names
    // no file: the operator is told which one.
    throw new Error(`cannot open or migrate the database ${path}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

function open(path: string, inMemory: boolean, cacheMb: number, options: OpenOptions) {
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  try {
    // Takes effect only while the database is still empty, before WAL mode fixes it.
    sqlite.pragma(`page_size = ${PAGE_SIZE}`);
    if (!inMemory) sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    sqlite.pragma(`cache_size = -${cacheMb * 1024}`);
    // No memory map (the driver's default, set here so it stays so). A 64 MiB map covered a sliver of a
    // large database, SQLite sets a mapped page up again on every visit instead of keeping it in the
    // page cache, and mapped pages count in the resident memory; bench:scale showed no gain from it.
    sqlite.pragma('mmap_size = 0');
    if (!inMemory && options.backgroundCheckpoints) {
      sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
      sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    }
    const db = drizzle({ client: sqlite, schema });
    migrate(db, { migrationsFolder });
    return { sqlite, db };
  } catch (error) {
    sqlite.close();
    throw error;
  }
}
