import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { type Synchronous, synchronousPragma } from './client.js';

/** How often the background connection copies the write-ahead log into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;
/**
 * A log this many pages past what a checkpoint could copy (a reader in another process holds it
 * back) is a backlog: the first commit past the backstop after the reader ends would copy all of it
 * on the request thread (a 0.8-1.2 GB log stopped every request, /health included, for 1.1-1.7 s).
 * While there is one, the writing connection does not checkpoint; the worker copies the backlog, and
 * the backstop applies again once a checkpoint of the worker copies no more than this.
 */
export const BACKLOG_PAGES = 4_096;
/** How long stop() waits for the last checkpoint before ending the worker. */
const STOP_TIMEOUT_MS = 5_000;

// Plain CommonJS, so that it runs from the sources (tests) as from the build. The worker has its own
// connection; a passive checkpoint never blocks the connection that writes. A failure is reported
// once, and again only after a checkpoint has succeeded in between.
//
// It opens the database by its path, once its thread has started: by then another file may have been
// renamed to that path, or the file moved away. So it opens only a file that exists, and only when the
// path leads to the file the server opened (its device and inode) just before and just after; another
// is closed untouched, and the worker ends, leaving the checkpoints to the writing connection. Then,
// before each checkpoint, it looks again at the file's real path (where SQLite keeps the log): once
// another file is there, a server started on it may be writing to the same log, and checkpointing
// would copy its pages into this server's file. It tells the server, which empties its log and takes
// it away from the path (Repository) within a tick instead of at its next write; until the file is
// back, this connection checkpoints nothing. It looks at the -shm and -wal there too. Once the -shm
// is not the one opened (deleted, or a new one made by a server started since), it no longer holds
// the locks that keep a checkpoint and other processes' commits apart; once another -wal is there (a
// server started after the log was deleted), the index in the -shm tells of frames this connection
// would read from the deleted file. Either way a checkpoint could copy wrong pages into the file, so
// this connection checkpoints nothing again, and the server refuses writes until a restart
// (Repository). A -wal deleted with none made since is still copied from: its frames reach the file,
// where the next start finds them.
//
// A reader elsewhere can hold the checkpoints back while the log grows: the worker then tells the
// server, whose commits stop checkpointing (see BACKLOG_PAGES) until the worker has copied what
// piled up and caught up again.
const WORKER_SOURCE = `
const { realpathSync, statSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const sameFile = (a, b) => a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
const isTheFile = (path) => sameFile(statSync(path, { throwIfNoEntry: false }), workerData.file);
const notTheFile = () => new Error('the database file at ' + workerData.path + ' is no longer the one the server opened');
if (!isTheFile(workerData.path)) throw notTheFile();
let db;
try {
  db = new Database(workerData.path, { fileMustExist: true });
} catch (error) {
  // Thrown as it is, the driver's error would reach the server with its code and without its message.
  throw new Error(error.message + (error.code ? ' (' + error.code + ')' : ''));
}
if (!isTheFile(workerData.path)) {
  db.close();
  throw notTheFile();
}
const realPath = realpathSync(workerData.path);
const shmPath = realPath + '-shm';
const walPath = realPath + '-wal';
const shmOpened = statSync(shmPath, { throwIfNoEntry: false });
const walOpened = statSync(walPath, { throwIfNoEntry: false });
// Which of the two is no longer this server's, or undefined while both are (a -wal deleted, with
// none made since, still is: copying its frames keeps them for the next start).
const replacedLog = () => {
  if (shmOpened !== undefined && !sameFile(statSync(shmPath, { throwIfNoEntry: false }), shmOpened)) return '-shm';
  const wal = statSync(walPath, { throwIfNoEntry: false });
  if (walOpened !== undefined && wal !== undefined && !sameFile(wal, walOpened)) return '-wal';
  return undefined;
};
let logReplaced = false;
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = ' + workerData.synchronous);
let failing = false;
let away = false;
let behind = false;
let copiedTo = 0;
const checkpoint = () => {
  try {
    if (!isTheFile(realPath)) {
      if (!away) parentPort.postMessage({ moved: true });
      away = true;
      return;
    }
    away = false;
    if (logReplaced) return;
    const replaced = replacedLog();
    if (replaced !== undefined) {
      parentPort.postMessage({ logReplaced: replaced });
      logReplaced = true;
      return;
    }
    const { log, checkpointed } = db.pragma('wal_checkpoint(PASSIVE)')[0];
    failing = false;
    // Frames copied by this checkpoint (all of them, when the log restarted since the last one).
    const copied = checkpointed >= copiedTo ? checkpointed - copiedTo : checkpointed;
    copiedTo = checkpointed;
    const held = log - checkpointed > workerData.backlogPages;
    if (held !== behind && (held || copied <= workerData.backlogPages)) {
      behind = held;
      parentPort.postMessage({ behind });
    }
  } catch (error) {
    if (!failing) parentPort.postMessage({ error: String(error), code: typeof error?.code === 'string' ? error.code : undefined });
    failing = true;
    // A worker that cannot checkpoint cannot copy a backlog either: the commits' backstop applies again.
    if (behind) {
      behind = false;
      parentPort.postMessage({ behind });
    }
  }
};
// Erasures, by this process or another sharing the file, are told to the server, which forgets its
// copies in memory. Their rowids grow in the order they committed (none is ever deleted). The server
// gives the last erasure it knew of as it started, before it served a request, so that none made
// after that is missed, however late this thread starts. Once it cannot look (the statement fails to
// prepare or to run), it says so once and stops looking: the server then keeps nothing in memory.
let erasures;
let erasedUpTo = workerData.erasedUpTo;
const cannotLook = () => {
  erasures = undefined;
  parentPort.postMessage({ erasuresLost: true });
};
try {
  erasures = db.prepare('select rowid as seq, id from erased_assessments where rowid > ? order by rowid limit 1000');
} catch {
  cannotLook();
}
const tellErasures = () => {
  if (erasures === undefined || away || logReplaced) return;
  try {
    const rows = erasures.all(erasedUpTo);
    if (rows.length === 0) return;
    erasedUpTo = rows[rows.length - 1].seq;
    parentPort.postMessage({ erased: rows.map((row) => row.id) });
  } catch {
    cannotLook();
  }
};
// Erasures first: a checkpoint may take long (a backlog to copy).
const timer = setInterval(() => {
  tellErasures();
  checkpoint();
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/** A file by its device and inode, as `fs.statSync` gives them. */
export type FileIdentity = { dev: number; ino: number };

export type CheckpointerEvents = {
  /** A checkpoint failed (reported once until one succeeds again), with SQLite's code when it gave one. */
  onError: (message: string, code?: string) => void;
  /** The worker ended without being asked to: the writing connection must checkpoint again. */
  onExit: () => void;
  /** A reader elsewhere holds a backlog in the log (true), or the worker has copied it and caught up (false). */
  onBacklog?: (backlog: boolean) => void;
  /** The file is no longer at its real path (told once each time it goes): the server must see to it now, not at its next write. */
  onMoved?: () => void;
  /** The -shm or -wal beside the file is not the one opened (told once): no checkpoint runs again. */
  onLogReplaced?: (file: '-shm' | '-wal') => void;
  /** Assessments erased since the last call, or since the worker started, by any connection to the file. */
  onErased?: (ids: string[]) => void;
  /** Erasures can no longer be looked for (told once): the server must stop keeping assessments in memory. */
  onErasuresLost?: () => void;
};

/**
 * Checkpoints the write-ahead log from a worker thread, so that the request thread never copies
 * pages into the database file or waits for its fsync. It runs with the same `synchronous` level as
 * the writing connection, so a checkpoint syncs exactly as it would there: durability is unchanged.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private stopping = false;

  /**
   * `file` is the database file the server opened at `path`, by its device and inode; `erasedUpTo`
   * the number (rowid) of the last erasure recorded as the server started: those after it are told
   * to `onErased`.
   */
  constructor(
    path: string,
    file: FileIdentity,
    synchronous: Synchronous,
    events: CheckpointerEvents,
    { intervalMs = CHECKPOINT_INTERVAL_MS, erasedUpTo = 0 }: { intervalMs?: number; erasedUpTo?: number } = {},
  ) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver,
        path,
        file: { dev: file.dev, ino: file.ino },
        synchronous: synchronousPragma(synchronous),
        intervalMs,
        backlogPages: BACKLOG_PAGES,
        erasedUpTo,
      },
    });
    this.worker.on(
      'message',
      (message: {
        error?: string;
        code?: string;
        moved?: boolean;
        behind?: boolean;
        logReplaced?: '-shm' | '-wal';
        erased?: string[];
        erasuresLost?: boolean;
      }) => {
        if (message.error) events.onError(message.error, message.code);
        if (message.behind !== undefined) events.onBacklog?.(message.behind);
        if (message.moved) events.onMoved?.();
        if (message.logReplaced) events.onLogReplaced?.(message.logReplaced);
        if (message.erased) events.onErased?.(message.erased);
        if (message.erasuresLost) events.onErasuresLost?.();
      },
    );
    // An error thrown in the worker that is not a built-in class (better-sqlite3's SqliteError) arrives
    // as a plain object: its message is what tells.
    this.worker.on('error', (error: unknown) => {
      const { message } = (error ?? {}) as { message?: unknown };
      events.onError(typeof message === 'string' ? message : String(error));
    });
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        if (!this.stopping) events.onExit();
        resolve();
      }),
    );
    // While it runs, the worker never keeps the process alive on its own.
    this.worker.unref();
  }

  /** Runs a last checkpoint and closes the worker's connection; ends the worker if that hangs. */
  async stop(): Promise<void> {
    this.stopping = true;
    // Referenced again, so that the process waits for the worker's exit rather than leaving first.
    this.worker.ref();
    this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
