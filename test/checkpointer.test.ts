import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKLOG_PAGES, Checkpointer } from '../src/db/checkpointer.js';
import { BACKSTOP_CHECKPOINT_PAGES, openDatabase, WAL_SIZE_LIMIT_BYTES } from '../src/db/client.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed, TempDirs } from './support/fixtures.js';
import { assessmentRows } from './support/process.js';

const QUESTIONS = readRawSeed().questions.questions;
const submission = (seed: number) => ({
  answers: QUESTIONS.map((q, i) => ({ questionId: q.id, value: ((i * 3 + seed) % 5) + 1 })),
});

const waitFor = async (condition: () => boolean, timeoutMs = 5_000) => {
  const started = Date.now();
  const holds = () => {
    try {
      return condition();
    } catch {
      // e.g. a copy of the file taken while the worker writes it
      return false;
    }
  };
  while (!holds()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** Rows in a copy of the main database file alone, without its write-ahead log. */
const rowsInMainFile = (databasePath: string, dir: string) => {
  const copy = join(dir, `copy-${Date.now()}-${Math.random()}.sqlite`);
  copyFileSync(databasePath, copy);
  return assessmentRows(copy);
};

describe('background checkpoints', () => {
  const temp = new TempDirs();
  let dir: string;
  beforeAll(() => {
    dir = temp.make('rc-checkpoint-');
  });
  afterAll(() => temp.cleanup());

  it('copy stored assessments into the database file while the writing connection only keeps a backstop', async () => {
    const databasePath = join(dir, 'app.sqlite');
    const app = await buildTestApp({ databasePath });
    try {
      expect(app.repository.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(BACKSTOP_CHECKPOINT_PAGES);
      expect(app.repository.sqlite.pragma('journal_size_limit', { simple: true })).toBe(WAL_SIZE_LIMIT_BYTES);
      const before = statSync(databasePath).size;
      for (let i = 0; i < 30; i++) {
        const response = await app.inject({ method: 'POST', url: '/v1/assessments', payload: submission(i) });
        expect(response.statusCode).toBe(201);
      }
      // 30 documents are far below the backstop: only the worker can have copied them.
      await waitFor(() => statSync(databasePath).size > before && rowsInMainFile(databasePath, dir) === 30);
      expect(app.repository.countAssessments()).toBe(30);
    } finally {
      await app.close();
    }
  });

  it('copies the log a crash left into the file before the server starts, so that no request does it', async () => {
    // The first commit on a log past the backstop copied all of it on the request thread: after a
    // restart on a 1 GB log, every request, /health included, stopped for 3.6-5 s.
    const databasePath = join(dir, 'crash-left.sqlite');
    const left = join(dir, 'crash-left-copy.sqlite');
    const app = await buildTestApp({ databasePath });
    // A reader in another connection keeps the checkpoints from copying what is written meanwhile.
    const reader = new Database(databasePath);
    try {
      reader.exec('begin');
      reader.prepare('select count(*) from assessment_documents').get();
      for (let i = 0; i < 20; i++) {
        const response = await app.inject({ method: 'POST', url: '/v1/assessments', payload: submission(i) });
        expect(response.statusCode).toBe(201);
      }
      // The file and its log as a kill -9 would leave them.
      copyFileSync(`${databasePath}-wal`, `${left}-wal`);
      copyFileSync(databasePath, left);
    } finally {
      reader.close();
      await app.close();
    }
    expect(rowsInMainFile(left, dir)).toBe(0);
    const { sqlite } = openDatabase(left, { backgroundCheckpoints: true });
    try {
      // Nothing else has checkpointed it: the opening did.
      expect(rowsInMainFile(left, dir)).toBe(20);
    } finally {
      sqlite.close();
    }
  });

  // Guards against (from a review): a reader in another process held the checkpoints back while
  // writes went on; once it ended, the next commit past the backstop copied the whole log on the
  // request thread before the worker's next tick (0.8-1.2 GB: every request, /health included,
  // stopped for 1.1-1.7 s).
  it('leaves a log a reader held back to the worker: commits stop checkpointing until it has caught up', async () => {
    const databasePath = join(dir, 'held.sqlite');
    const app = await buildTestApp({ databasePath });
    const reader = new Database(databasePath);
    const autocheckpoint = () => app.repository.sqlite.pragma('wal_autocheckpoint', { simple: true });
    try {
      reader.exec('begin');
      reader.prepare('select count(*) from assessment_documents').get();
      const items = Array.from({ length: 500 }, (_, i) => submission(i));
      let stored = 0;
      while (statSync(`${databasePath}-wal`).size < 2 * BACKLOG_PAGES * 8192) {
        const response = await app.inject({ method: 'POST', url: '/v1/assessments/batch', payload: { items } });
        expect(response.statusCode).toBe(200);
        stored += items.length;
      }
      await waitFor(() => autocheckpoint() === 0);
      reader.exec('commit');
      // A commit on the request thread leaves the backlog to the worker: its backstop is off until the
      // worker has copied the backlog and caught up (which may already be so, on a slow machine).
      const response = await app.inject({ method: 'POST', url: '/v1/assessments', payload: submission(0) });
      expect(response.statusCode).toBe(201);
      await waitFor(() => autocheckpoint() === BACKSTOP_CHECKPOINT_PAGES && rowsInMainFile(databasePath, dir) === stored + 1, 10_000);
    } finally {
      reader.close();
      await app.close();
    }
  }, 20_000);

  it('leaves in-memory databases to SQLite', async () => {
    const app = await buildTestApp();
    try {
      expect(app.repository.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    } finally {
      await app.close();
    }
  });

  it('checkpoints everything once more when stopped', async () => {
    const databasePath = join(dir, 'stop.sqlite');
    const { sqlite } = openDatabase(databasePath, { backgroundCheckpoints: true });
    // The migrated schema goes into the file first, so that the file alone can be read.
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    // A long interval: only the checkpoint run on stop can copy the rows.
    const exits: string[] = [];
    const checkpointer = new Checkpointer(
      databasePath,
      statSync(databasePath),
      'normal',
      { onError: () => undefined, onExit: () => exits.push('exit') },
      { intervalMs: 60_000 },
    );
    try {
      sqlite.exec(`insert into assessments (id, created_at, document, instrument_version, scoring_version, kb_release)
        values ('00000000-0000-4000-8000-000000000001', '2026-11-21T00:00:00.000Z', '{}', 'i', 's', 'k')`);
      expect(rowsInMainFile(databasePath, dir)).toBe(0);
      await checkpointer.stop();
      expect(rowsInMainFile(databasePath, dir)).toBe(1);
      // Asked to stop: not an unexpected exit.
      expect(exits).toEqual([]);
      await checkpointer.stop();
    } finally {
      sqlite.close();
    }
  });

  it('reports a connection that cannot be opened, and that it stopped', async () => {
    const errors: string[] = [];
    let exits = 0;
    const checkpointer = new Checkpointer(join(dir, 'missing', 'nested', 'db.sqlite'), { dev: 0, ino: 0 }, 'full', {
      onError: (message) => errors.push(message),
      onExit: () => {
        exits += 1;
      },
    });
    await waitFor(() => exits > 0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/no longer the one the server opened/);
    await checkpointer.stop();
    expect(exits).toBe(1);
  });

  // Guards against (from a third review): once another file was renamed to the path, a server
  // started on it shared this server's log, and the worker went on copying that server's pages into
  // this server's file every 100 ms.
  it('checkpoints nothing while another file is at the path, and goes on once the file is back', async () => {
    const databasePath = join(dir, 'paused.sqlite');
    const { sqlite } = openDatabase(databasePath, { backgroundCheckpoints: true });
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    const checkpointer = new Checkpointer(
      databasePath,
      statSync(databasePath),
      'normal',
      { onError: () => undefined, onExit: () => undefined },
      { intervalMs: 50 },
    );
    const insert = (n: number) =>
      sqlite.exec(`insert into assessments (id, created_at, document, instrument_version, scoring_version, kb_release)
        values ('00000000-0000-4000-8000-00000000001${n}', '2026-11-21T00:00:00.000Z', '{}', 'i', 's', 'k')`);
    try {
      insert(0);
      await waitFor(() => rowsInMainFile(databasePath, dir) === 1);
      renameSync(databasePath, `${databasePath}.aside`);
      const other = new Database(databasePath);
      other.exec('create table t (x)');
      other.close();
      insert(1);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(rowsInMainFile(`${databasePath}.aside`, dir)).toBe(1);
      renameSync(`${databasePath}.aside`, databasePath);
      await waitFor(() => rowsInMainFile(databasePath, dir) === 2);
    } finally {
      await checkpointer.stop();
      sqlite.close();
    }
  });

  // Guards against (from reviews): with the -shm deleted, or the -wal deleted, and a second server
  // started on the path (which makes a new one), the worker went on checkpointing the log by an index
  // that no longer told what the other server wrote: wrong pages reached the file, and acknowledged
  // rows were lost.
  /** A database with a worker checkpointing it every 50 ms, which records the log files it reports replaced. */
  const watched = (name: string) => {
    const databasePath = join(dir, name);
    const { sqlite } = openDatabase(databasePath, { backgroundCheckpoints: true });
    const told: string[] = [];
    const checkpointer = new Checkpointer(
      databasePath,
      statSync(databasePath),
      'normal',
      { onError: () => undefined, onExit: () => undefined, onLogReplaced: (which) => told.push(which) },
      { intervalMs: 50 },
    );
    const insert = (n: number) =>
      sqlite.exec(`insert into assessments (id, created_at, document, instrument_version, scoring_version, kb_release)
        values ('00000000-0000-4000-8000-0000000001${String(n).padStart(2, '0')}', '2026-11-21T00:00:00.000Z', '{}', 'i', 's', 'k')`);
    const stop = async () => {
      await checkpointer.stop();
      sqlite.close();
    };
    return { databasePath, told, insert, stop };
  };

  it.each([
    ['-shm', 'replaced'],
    ['-shm', 'deleted'],
    ['-wal', 'replaced'],
  ] as const)('checkpoints nothing once the %s beside the file is %s, and says so once', async (file, how) => {
    const { databasePath, told, insert, stop } = watched(`log${file}-${how}.sqlite`);
    try {
      insert(0);
      await waitFor(() => rowsInMainFile(databasePath, dir) === 1);
      insert(1);
      rmSync(`${databasePath}${file}`);
      // As another process would make one: a file of its own, written aside and renamed into place.
      if (how === 'replaced') {
        writeFileSync(`${databasePath}${file}.new`, '');
        renameSync(`${databasePath}${file}.new`, `${databasePath}${file}`);
      }
      insert(2);
      await waitFor(() => told.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(rowsInMainFile(databasePath, dir)).toBeLessThan(3);
      expect(told).toEqual([file]);
    } finally {
      await stop();
    }
  });

  it('goes on copying a -wal deleted while open when no other is made: its frames reach the file', async () => {
    const { databasePath, told, insert, stop } = watched('wal-deleted.sqlite');
    try {
      insert(0);
      await waitFor(() => rowsInMainFile(databasePath, dir) === 1);
      insert(1);
      rmSync(`${databasePath}-wal`);
      insert(2);
      await waitFor(() => rowsInMainFile(databasePath, dir) === 3);
      expect(told).toEqual([]);
    } finally {
      await stop();
    }
  });

  // Guards against (from a review): the worker opened the database by its path once its thread had
  // started, by when a backup could have been renamed there: it checkpointed the server's log into
  // the backup, and, as that file's last connection, deleted the log as it closed. Where the file had
  // been moved away, it created an empty database at the path.
  it.each([
    ['another file renamed to the path', true],
    ['no file at the path', false],
  ])('leaves alone what it finds at the path when it is not the file the server opened (%s)', async (_, renamed) => {
    const databasePath = join(dir, `moved-${renamed}.sqlite`);
    const { sqlite } = openDatabase(databasePath, { backgroundCheckpoints: true });
    const opened = statSync(databasePath);
    sqlite.exec(`insert into assessments (id, created_at, document, instrument_version, scoring_version, kb_release)
      values ('00000000-0000-4000-8000-000000000002', '2026-11-21T00:00:00.000Z', '{}', 'i', 's', 'k')`);
    const other = join(dir, `other-${renamed}.sqlite`);
    if (renamed) {
      const made = new Database(other);
      made.exec('create table t (x)');
      made.close();
    }
    renameSync(databasePath, `${databasePath}.aside`);
    if (renamed) renameSync(other, databasePath);
    const before = renamed ? readFileSync(databasePath) : undefined;
    const errors: string[] = [];
    let exits = 0;
    const checkpointer = new Checkpointer(databasePath, opened, 'normal', {
      onError: (message) => errors.push(message),
      onExit: () => {
        exits += 1;
      },
    });
    try {
      await waitFor(() => exits > 0);
      expect(errors.join()).toMatch(/no longer the one the server opened/);
      if (renamed) expect(readFileSync(databasePath).equals(before as Buffer)).toBe(true);
      else expect(existsSync(databasePath)).toBe(false);
      // The server's log is still where it was, beside the path.
      expect(existsSync(`${databasePath}-wal`)).toBe(true);
    } finally {
      await checkpointer.stop();
      sqlite.close();
    }
  });
});
