// Stored assessments written and read under failure: a commit or a reservation that fails, a
// database locked by another process, a failing timer or read outside a request.
import { closeSync, copyFileSync, existsSync, openSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { App } from '../src/app.js';
import { Repository, ROW_BLOCK } from '../src/db/repository.js';
import { buildTestApp } from './helpers.js';
import { watchEventLoop } from './support/event-loop.js';
import { readRawSeed, TempDirs } from './support/fixtures.js';
import { injectPost, listenLocally } from './support/http.js';

const QUESTIONS = readRawSeed().questions.questions;
const submission = (n: number) => ({
  respondent: `fault-${n}`,
  answers: QUESTIONS.map((q, i) => ({ questionId: q.id, value: ((i + n) % 5) + 1 })),
});

const temp = new TempDirs();
afterAll(() => temp.cleanup());

const apps: App[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const app of apps.splice(0)) await app.close();
});
async function appOn(databasePath = ':memory:', options: Parameters<typeof buildTestApp>[0] = {}) {
  const app = await buildTestApp({ databasePath, ...options });
  apps.push(app);
  return app;
}
const fileDb = () => join(temp.make('rc-faults-'), 'api.sqlite');

const post = injectPost;

const driver = createRequire(import.meta.url).resolve('better-sqlite3');
/**
 * Another process's write lock, held `ms` from a thread of its own, so that this thread can wait for
 * it inside SQLite: returns once the lock is taken, with a promise of its release.
 */
function holdLockElsewhere(path: string, ms: number): Promise<unknown> {
  const taken = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData: { driver, path, ms, taken } } = require('node:worker_threads');
     const db = new (require(driver))(path);
     db.exec('begin immediate');
     Atomics.store(taken, 0, 1);
     Atomics.notify(taken, 0);
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
     db.exec('rollback');
     db.close();`,
    { eval: true, workerData: { driver, path, ms, taken } },
  );
  const released = new Promise((resolve, reject) => worker.once('exit', resolve).once('error', reject));
  Atomics.wait(taken, 0, 0, 5000);
  return released;
}

/** Longer than any pause of a loaded test machine, far shorter than a wait for a lock inside SQLite (1 s and more). */
const STALL_MS = 250;

/**
 * An app on a database file with one submission stored (its block of row numbers reserved, so that
 * only commits wait) and another connection holding the write lock; `release` lets it go, once.
 */
async function appWithLockHeldElsewhere() {
  const databasePath = fileDb();
  const app = await appOn(databasePath);
  expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
  const other = new Database(databasePath);
  other.exec('begin immediate');
  const release = () => {
    if (!other.open) return;
    if (other.inTransaction) other.exec('rollback');
    other.close();
  };
  return { app, release };
}

describe('row-number reservation', () => {
  it('never gives out a row whose reservation did not commit (the next block would repeat rows already stored)', async () => {
    const app = await appOn();
    const { sqlite } = app.repository;
    // The reservation's UPDATE succeeds but its autocommit fails once, as a full disk or an I/O
    // error at commit would: a deferred foreign key is checked only at commit.
    let failNextCommit = true;
    sqlite.function('fail_commit_once', () => {
      const fail = failNextCommit;
      failNextCommit = false;
      return fail ? 1 : 0;
    });
    sqlite.exec(`
      create table fault_parent (id integer primary key);
      create table fault_child (parent integer references fault_parent (id) deferrable initially deferred);
      create trigger fault_fail_reservation after update on assessment_id_keys when fail_commit_once()
      begin insert into fault_child values (42); end`);

    const first = await post(app, '/v1/assessments', submission(1));
    const nextRow = () => sqlite.prepare('select next_row from assessment_id_keys').pluck().get() as number;
    const maxStored = () => (sqlite.prepare('select max(row_id) from assessment_documents').pluck().get() as number | null) ?? 0;
    // Another process reserving now starts at next_row: every stored row must lie below it.
    expect.soft(maxStored(), `first POST answered ${first.statusCode}`).toBeLessThan(nextRow());

    // The rest of the block this process holds, as later requests would use it.
    for (let i = 1; i < ROW_BLOCK; i++) app.repository.newAssessmentId();
    const second = await post(app, '/v1/assessments', submission(2));
    expect(second.statusCode, second.body).toBe(201);
  });
});

describe('group commit against a locked database', () => {
  // Guards against: better-sqlite3 waits for a lock on the request thread, so while another process
  // held the write lock every request, reads and /health included, stopped for the 5 s busy timeout.
  it('keeps serving while another process holds the write lock, and commits the waiting submissions once it is let go', async () => {
    const databasePath = fileDb();
    const app = await appOn(databasePath);
    // A first assessment reserves this process's block of rows before the lock is taken.
    expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
    const tries: number[] = [];
    const save = app.repository.saveAssessmentGroups.bind(app.repository);
    vi.spyOn(app.repository, 'saveAssessmentGroups').mockImplementation((groups) => {
      const started = performance.now();
      try {
        return save(groups);
      } finally {
        tries.push(performance.now() - started);
      }
    });
    const before = app.repository.countAssessments();
    // Another process (a second server, db:seed) holds the write lock for 400 ms.
    const other = new Database(databasePath);
    other.exec('begin immediate');
    const stopWatching = watchEventLoop();
    const submitted = Promise.all(Array.from({ length: 8 }, (_, n) => post(app, '/v1/assessments', submission(n + 1))));
    await sleep(100);
    const health = await app.inject('/health');
    await sleep(300);
    const stalledMs = stopWatching();
    other.exec('rollback');
    other.close();
    const responses = await submitted;
    expect(responses.map((r) => r.statusCode)).toEqual(Array(8).fill(201));
    expect(app.repository.countAssessments()).toBe(before + 8);
    expect(health.statusCode).toBe(200);
    expect(stalledMs).toBeLessThan(STALL_MS);
    // Many short tries, each waiting the serving busy timeout (5 ms) at most, not one long wait.
    expect(tries.length).toBeGreaterThan(5);
    expect(Math.max(...tries.slice(0, -1))).toBeLessThan(50);
  });

  // Guards against (from a review): a connection's idle timeout was REQUEST_TIMEOUT_MS, and it also
  // runs while the request is being answered: set under about 6 s, it reset the connection of a
  // submission still waiting for another process's lock, which was then stored all the same.
  /**
   * A server with a 1 s REQUEST_TIMEOUT_MS on a file database, listening, whose row numbers are
   * reserved, while another process holds the write lock for 2.5 s: `letGo` ends it early.
   */
  async function lockedFor2500ms() {
    const databasePath = fileDb();
    const app = await appOn(databasePath, { requestTimeoutMs: 1000 });
    expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
    const address = await listenLocally(app);
    const other = new Database(databasePath);
    other.exec('begin immediate');
    const timer = setTimeout(() => letGo(), 2500);
    const letGo = () => {
      clearTimeout(timer);
      if (!other.open) return;
      other.exec('rollback');
      other.close();
    };
    return { ...address, letGo };
  }

  it('answers a submission that waits for the lock longer than REQUEST_TIMEOUT_MS, on a real connection', async () => {
    const { base, letGo } = await lockedFor2500ms();
    try {
      const started = performance.now();
      const response = await fetch(`${base}/v1/assessments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(submission(1)),
      });
      expect(response.status).toBe(201);
      expect(performance.now() - started).toBeGreaterThan(2000);
    } finally {
      letGo();
    }
  });

  // Guards against (from a review): with two requests pipelined on one connection, the second one's
  // quick 400 gave the connection its short timeout back while the first was still being stored.
  it('keeps a connection open for a submission waiting for the lock while a request pipelined behind it is answered', async () => {
    const { port, letGo } = await lockedFor2500ms();
    const requestOf = (body: string) =>
      `POST /v1/assessments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    try {
      const received = await new Promise<string>((resolve) => {
        let data = '';
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(requestOf(JSON.stringify(submission(1))) + requestOf('{"respondent":1}'));
        });
        socket.on('data', (chunk) => {
          data += chunk;
          // A response follows the body before it on the same line: no anchor.
          if ((data.match(/HTTP\/1\.1 \d{3} /g) ?? []).length === 2) socket.end();
        });
        socket.on('close', () => resolve(data));
        socket.on('error', () => undefined);
      });
      expect((received.match(/HTTP\/1\.1 \d{3} /g) ?? []).map((line) => line.slice(9, 12))).toEqual(['201', '400']);
    } finally {
      letGo();
    }
  });

  it('keeps serving when this process runs out of reserved rows while another process holds the lock', async () => {
    const databasePath = fileDb();
    const app = await appOn(databasePath);
    expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
    // The rest of this process's block: the next submission needs a new one.
    for (let i = 1; i < ROW_BLOCK; i++) app.repository.newAssessmentId();
    const other = new Database(databasePath);
    other.exec('begin immediate');
    const stopWatching = watchEventLoop();
    const submitted = post(app, '/v1/assessments', submission(1));
    await sleep(50);
    const health = await app.inject('/health');
    await sleep(300);
    const stalledMs = stopWatching();
    other.exec('rollback');
    other.close();
    expect(stalledMs).toBeLessThan(STALL_MS);
    expect([health.statusCode, (await submitted).statusCode]).toEqual([200, 201]);
  });

  // Guards against (from an operator's walk through the README): a server that had stored nothing yet
  // had no row numbers reserved, and its first submissions reserved them inside SQLite on the request
  // thread, each stopping every request, /health included, for up to 1 s while another process held
  // the write lock, then failing.
  it('keeps serving when a server with no row numbers reserved yet meets a lock held elsewhere, and stores once it is let go', async () => {
    const databasePath = fileDb();
    const app = await appOn(databasePath);
    expect(app.repository.idsAtHand()).toBe(0);
    const reservations = vi.spyOn(app.repository, 'reserveNextBlock');
    const other = new Database(databasePath);
    other.exec('begin immediate');
    const stopWatching = watchEventLoop();
    const singles = Promise.all(Array.from({ length: 4 }, (_, n) => post(app, '/v1/assessments', submission(n + 1))));
    const batch = post(app, '/v1/assessments/batch', { items: [submission(5), { answers: [] }, submission(6)] });
    await sleep(50);
    // A submission its checks refuse needs no row number: answered at once, lock or not.
    const refused = await post(app, '/v1/assessments', { answers: [] });
    const health = await app.inject('/health');
    await sleep(300);
    const stalledMs = stopWatching();
    const triesWhileLocked = reservations.mock.calls.length;
    other.exec('rollback');
    other.close();
    expect([refused.statusCode, health.statusCode]).toEqual([400, 200]);
    expect(stalledMs).toBeLessThan(STALL_MS);
    // One try every 10 ms or so for all five waiting, not one per submission: 350 ms give at most about 35.
    expect(triesWhileLocked).toBeGreaterThan(5);
    expect(triesWhileLocked).toBeLessThan(60);
    expect((await singles).map((r) => r.statusCode)).toEqual([201, 201, 201, 201]);
    const batched = await batch;
    expect(batched.statusCode).toBe(200);
    expect(batched.json().items.map((item: { status: number }) => item.status)).toEqual([201, 400, 201]);
    expect(app.repository.countAssessments()).toBe(6);
  });

  it("answers a submission that waited 5 s in all for row numbers with the lock's 503, storing nothing", async () => {
    const databasePath = fileDb();
    const app = await appOn(databasePath);
    const other = new Database(databasePath);
    other.exec('begin immediate');
    try {
      const started = Date.now();
      const response = await post(app, '/v1/assessments', submission(1));
      const waitedMs = Date.now() - started;
      expect(response.statusCode).toBe(503);
      expect(response.json().code).toBe('storage-unavailable');
      expect(waitedMs).toBeGreaterThanOrEqual(5000);
      expect(waitedMs).toBeLessThan(6500);
    } finally {
      other.exec('rollback');
      other.close();
    }
    expect(app.repository.countAssessments()).toBe(0);
    expect((await post(app, '/v1/assessments', submission(2))).statusCode).toBe(201);
  }, 15_000);

  // Guards against: a submission still waiting for the lock when the server closed its database (the
  // shutdown grace ran out) met the closed connection, and was answered and logged as an internal
  // error; with an Idempotency-Key, so was the lookup for another process's answer that followed.
  it.each([
    ['a submission', '/v1/assessments', submission(1), {}],
    ['a submission with an Idempotency-Key', '/v1/assessments', submission(2), { 'idempotency-key': 'closing-single' }],
    ['a batch', '/v1/assessments/batch', { items: [submission(3), { answers: 'none' }] }, {}],
    ['a batch with an Idempotency-Key', '/v1/assessments/batch', { items: [submission(4)] }, { 'idempotency-key': 'closing-batch' }],
  ])('answers %s still waiting for the lock when the database closes 503 shutting-down, storing nothing', async (_, url, body, headers) => {
    const databasePath = fileDb();
    const app = await appOn(databasePath);
    expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
    const errors = vi.spyOn(app.log, 'error');
    const other = new Database(databasePath);
    other.exec('begin immediate');
    let response: Awaited<ReturnType<typeof post>>;
    try {
      const waiting = post(app, url, body, headers);
      await sleep(100);
      app.repository.close();
      response = await waiting;
    } finally {
      other.exec('rollback');
      other.close();
    }
    expect([response.statusCode, response.json().code, response.headers['retry-after']]).toEqual([503, 'shutting-down', '5']);
    expect(errors).not.toHaveBeenCalled();
    const check = new Database(databasePath, { readonly: true });
    expect(check.prepare('select count(*) from assessment_documents').pluck().get()).toBe(1);
    check.close();
  });

  it('answers 503 storage-unavailable once a submission has waited 5 s for a lock another process keeps', async () => {
    const databasePath = fileDb();
    const app = await appOn(databasePath);
    expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
    const other = new Database(databasePath);
    other.exec('begin immediate');
    const before = app.repository.countAssessments();
    const started = performance.now();
    let responses: Awaited<ReturnType<typeof post>>[];
    try {
      responses = await Promise.all(Array.from({ length: 4 }, (_, n) => post(app, '/v1/assessments', submission(n + 1))));
    } finally {
      other.exec('rollback');
      other.close();
    }
    const waitedMs = performance.now() - started;
    expect(responses.map((r) => r.statusCode)).toEqual(Array(4).fill(503));
    for (const response of responses) {
      expect(response.headers['retry-after']).toBe('5');
      expect(response.json()).toMatchObject({
        code: 'storage-unavailable',
        detail: expect.stringMatching(/^Another process held the database's write lock/),
      });
    }
    expect(waitedMs).toBeGreaterThanOrEqual(5000);
    expect(waitedMs).toBeLessThan(7000);
    expect(app.repository.countAssessments()).toBe(before);
    expect((await post(app, '/v1/assessments', submission(9))).statusCode).toBe(201);
  }, 20_000);

  // Guards against (from a review): a retry with the same Idempotency-Key waited for the first
  // request's 5 s, then 5 s of its own, so that each retry behind another waited 5 s longer.
  it('answers a same-key retry waiting behind a request refused for the lock with that refusal, not a wait of its own', async () => {
    const { app, release } = await appWithLockHeldElsewhere();
    let waitedMs: number;
    let answers: Awaited<ReturnType<typeof post>>[];
    try {
      const started = performance.now();
      const first = post(app, '/v1/assessments', submission(1), { 'idempotency-key': 'waiting-key' });
      await sleep(1000);
      const retry = post(app, '/v1/assessments', submission(1), { 'idempotency-key': 'waiting-key' }, '127.0.0.2');
      answers = await Promise.all([first, retry]);
      waitedMs = performance.now() - started;
    } finally {
      release();
    }
    expect(answers.map((answer) => [answer.statusCode, answer.json().code])).toEqual([
      [503, 'storage-unavailable'],
      [503, 'storage-unavailable'],
    ]);
    expect(waitedMs).toBeLessThan(7000);
    expect((await post(app, '/v1/assessments', submission(1), { 'idempotency-key': 'waiting-key' })).statusCode).toBe(201);
  }, 20_000);

  // Guards against (from a review of the change above): a corrected submission sent under the key of
  // one still waiting for the lock was refused with that one's 503, never tried itself.
  it('tries a different body under the key of a request refused for the lock on its own', async () => {
    const { app, release } = await appWithLockHeldElsewhere();
    let answers: Awaited<ReturnType<typeof post>>[];
    try {
      const first = post(app, '/v1/assessments', submission(1), { 'idempotency-key': 'corrected-key' });
      await sleep(4500);
      const corrected = post(app, '/v1/assessments', submission(2), { 'idempotency-key': 'corrected-key' }, '127.0.0.2');
      // Let go once the first has been refused, well inside the corrected one's own 5 s.
      const refusedFirst = await first;
      release();
      answers = [refusedFirst, await corrected];
    } finally {
      release();
    }
    expect(answers.map((answer) => answer.statusCode)).toEqual([503, 201]);
    expect(answers[1]?.json().respondent).toBe('fault-2');
  }, 20_000);

  // Guards against: a keyed request that reached the service once the database had closed looked its
  // key up in the closed database: a 500, logged as an error.
  it('refuses a keyed submission 503 shutting-down once the database is closed', async () => {
    const app = await appOn(fileDb());
    const errors = vi.spyOn(app.log, 'error');
    app.repository.close();
    const answer = await post(app, '/v1/assessments', submission(1), { 'idempotency-key': 'closed-key' });
    expect([answer.statusCode, answer.json().code]).toEqual([503, 'shutting-down']);
    expect(errors).not.toHaveBeenCalled();
  });

  // Guards against (from a review): a same-key retry waiting behind the first when the database
  // closed (the shutdown grace ran out) read the closed database: a 500, logged as an error.
  it.each([
    ['/v1/assessments', submission(2)],
    ['/v1/assessments/batch', { items: [submission(3)] }],
  ])('answers %s and its same-key retry 503 shutting-down when the database closes under them', async (url, body) => {
    const { app, release } = await appWithLockHeldElsewhere();
    const errors = vi.spyOn(app.log, 'error');
    let answers: Awaited<ReturnType<typeof post>>[];
    try {
      const first = post(app, url, body, { 'idempotency-key': 'closing-key' });
      await sleep(50);
      const retry = post(app, url, body, { 'idempotency-key': 'closing-key' }, '127.0.0.2');
      await sleep(50);
      app.repository.close();
      answers = await Promise.all([first, retry]);
    } finally {
      release();
    }
    expect(answers.map((answer) => [answer.statusCode, answer.json().code])).toEqual([
      [503, 'shutting-down'],
      [503, 'shutting-down'],
    ]);
    expect(errors).not.toHaveBeenCalled();
  });

  // Guards against: a full disk answered every submission 500 internal-error while /ready said ready,
  // so nothing told a client to retry or a load balancer to send its writes elsewhere.
  it('answers 503 storage-unavailable on a full disk, and is not ready until a write succeeds again', async () => {
    const app = await appOn(fileDb());
    expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
    const pages = Number(app.repository.sqlite.pragma('page_count', { simple: true }));
    // The file may grow no further: SQLite reports the disk full (SQLITE_FULL).
    app.repository.sqlite.pragma(`max_page_count = ${pages}`);
    const before = app.repository.countAssessments();
    const refused = await Promise.all(Array.from({ length: 40 }, (_, n) => post(app, '/v1/assessments', submission(n + 1))));
    const statuses = new Set(refused.map((r) => r.statusCode));
    expect([...statuses]).toEqual([503]);
    const problem = refused[0]?.json();
    expect(problem).toMatchObject({ code: 'storage-unavailable', detail: expect.stringMatching(/^The database's disk is full\./) });
    expect(refused[0]?.headers['retry-after']).toBe('5');
    expect(app.repository.countAssessments()).toBe(before);
    const down = await app.inject('/ready');
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ status: 'not-ready', checks: { database: true, migrations: true, storage: false } });

    // Out of rotation it would get no write to succeed with: after 10 s it says ready again.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 10_001);
      expect((await app.inject('/ready')).json()).toMatchObject({ checks: { storage: true } });
    } finally {
      vi.useRealTimers();
    }
    app.repository.sqlite.pragma('max_page_count = 1073741823');
    expect((await post(app, '/v1/assessments', submission(99))).statusCode).toBe(201);
    const up = await app.inject('/ready');
    expect(up.json()).toMatchObject({ status: 'ready', checks: { storage: true } });
  });

  // Guards against: a database file deleted, or replaced by a copy, while the server had it open kept
  // taking submissions (201) into a file nothing would read again, and /ready said ready.
  it('refuses writes, and is not ready, once its database file is deleted or replaced while open', async () => {
    for (const how of ['deleted', 'replaced'] as const) {
      const path = fileDb();
      const app = await appOn(path);
      const stored = await post(app, '/v1/assessments', submission(0));
      expect(stored.statusCode).toBe(201);
      if (how === 'deleted') {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
      } else {
        copyFileSync(path, `${path}.copy`);
        renameSync(`${path}.copy`, path);
      }
      const refused = await post(app, '/v1/assessments', submission(1));
      expect(refused.statusCode, how).toBe(503);
      expect(refused.json(), how).toMatchObject({
        code: 'storage-unavailable',
        detail: expect.stringMatching(/^The database cannot be written\./),
      });
      const ready = await app.inject('/ready');
      expect(ready.statusCode, how).toBe(503);
      expect(ready.json(), how).toMatchObject({ status: 'not-ready', checks: { database: false } });
      // What was stored before is still read from the file the server holds.
      expect((await app.inject(`/v1/assessments/${stored.json().id}`)).statusCode, how).toBe(200);
    }
  });

  // Guards against (from a review): SQLite closes a database file that was moved away without
  // emptying its log, and leaves that log at the path; a restart after a backup was renamed into
  // place read the old pages into the backup and destroyed it ("database disk image is malformed").
  // Then (from a second review): writes that skipped the check of the file (the reservation of row
  // numbers ahead, the purge of old keys) filled the emptied log again, a move seen, undone and done
  // again was not dealt with a second time, and the background checkpoint connection, opened by path
  // after the start, could open the file renamed into place and checkpoint this server's log into it.
  it.each([
    ['when the server closes', { killed: false, movedBackFirst: false }],
    ['as soon as the move is seen, so that a kill after it is safe too', { killed: true, movedBackFirst: false }],
    ['after the file was moved away and back first', { killed: false, movedBackFirst: true }],
  ])('leaves a backup renamed over its file whole (%s)', async (_, { killed, movedBackFirst }) => {
    const path = fileDb();
    const backup = `${path}.backup`;
    const other = await appOn(backup);
    const kept: string[] = [];
    for (let n = 0; n < 3; n++) kept.push((await post(other, '/v1/assessments', submission(n))).json().id);
    await other.close();
    const readKey = (file: string) => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare('select key, next_row from assessment_id_keys').get();
      } finally {
        db.close();
      }
    };
    const backupKey = readKey(backup);
    const app = await appOn(path);
    for (let n = 0; n < 20; n++) expect((await post(app, '/v1/assessments', submission(n))).statusCode).toBe(201);
    if (movedBackFirst) {
      renameSync(path, `${path}.aside`);
      expect((await app.inject('/ready')).statusCode).toBe(503);
      renameSync(`${path}.aside`, path);
      // Its log was removed from the path with the move, so writes stay refused until a restart;
      // everything the log held is in the file.
      expect((await post(app, '/v1/assessments', submission(21))).statusCode).toBe(503);
    }
    renameSync(backup, path);
    expect((await app.inject('/ready')).statusCode).toBe(503);
    // Writes that reach no route's check: a batch takes 500 ids (a block of row numbers is reserved
    // ahead), and the purge of old Idempotency-Keys.
    const items = Array.from({ length: 500 }, (__, n) => submission(n));
    expect((await post(app, '/v1/assessments/batch', { items })).statusCode).toBe(503);
    expect(() => app.repository.purgeIdempotencyKeys(new Date())).toThrow(/deleted or replaced while open/);
    // What a kill now would leave at the path: neither this process's log nor its index, so a server
    // started there makes its own.
    expect([existsSync(`${path}-wal`), existsSync(`${path}-shm`)]).toEqual([false, false]);
    if (!killed) await app.close();
    const reopened = new Database(path, { readonly: true });
    try {
      expect(reopened.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(reopened.prepare('select count(*) from assessment_documents').pluck().get()).toBe(3);
    } finally {
      reopened.close();
    }
    expect(readKey(path)).toEqual(backupKey);
    if (killed) await app.close();
    // A server started on it reads the backup's assessments by their ids.
    const restarted = await appOn(path);
    for (const id of kept) expect((await restarted.inject(`/v1/assessments/${id}`)).statusCode).toBe(200);
  });

  // Guards against (from a fourth review): a server started on the file renamed into place, once the
  // old server had emptied its log, still shared that log and its index with the old one, which then
  // read the new server's pages: its own assessments came back 404. And (from a fifth): the old server
  // saw the move only at its next request, however long that took.
  it('lets a server started on the file renamed into place keep its log to itself', async () => {
    const path = fileDb();
    const backup = `${path}.backup`;
    await appOn(backup).then((app) => app.close());
    const old = await appOn(path, { recentAssessmentsMb: 0 });
    const ids: string[] = [];
    for (let n = 0; n < 30; n++) ids.push((await post(old, '/v1/assessments', submission(n))).json().id);
    renameSync(backup, path);
    // No request to the old server is needed: its checkpoint thread sees the move within a tick or two.
    for (let waited = 0; existsSync(`${path}-wal`) && waited < 5000; waited += 20) await sleep(20);
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect((await old.inject('/ready')).statusCode).toBe(503);
    const started = await appOn(path);
    for (let n = 0; n < 30; n++) expect((await post(started, '/v1/assessments', submission(n))).statusCode).toBe(201);
    expect((await started.inject('/ready')).statusCode).toBe(200);
    for (const id of ids) expect((await old.inject(`/v1/assessments/${id}`)).statusCode).toBe(200);
  });

  // Guards against (from a third review): with DATABASE_PATH a link, a link that now leads elsewhere
  // made the server treat the file it had opened, still at its real path, as moved, and remove the
  // -wal and -shm another server on that file was using (it went not ready, and lost writes).
  it('leaves the log of its file alone when only the link it was opened through leads elsewhere', async () => {
    const path = fileDb();
    const link = `${path}.link`;
    const elsewhere = `${path}.elsewhere`;
    await appOn(elsewhere).then((app) => app.close());
    const direct = await appOn(path);
    symlinkSync(path, link);
    const linked = await appOn(link);
    expect((await post(linked, '/v1/assessments', submission(0))).statusCode).toBe(201);
    rmSync(link);
    symlinkSync(elsewhere, link);
    // The linked server no longer writes: a restart would open the other file.
    expect((await post(linked, '/v1/assessments', submission(1))).statusCode).toBe(503);
    expect(linked.repository.close()).toBeUndefined();
    // The server on the file itself is unaffected.
    const stored = await post(direct, '/v1/assessments', submission(2));
    expect(stored.statusCode).toBe(201);
    expect((await direct.inject('/ready')).statusCode).toBe(200);
    expect((await direct.inject(`/v1/assessments/${stored.json().id}`)).statusCode).toBe(200);
  });

  // Guards against (from a third review): a reader in another process held the log back, and the
  // server closed without a word, leaving at the path a log a new server would read into the file
  // renamed there.
  it('says so as it closes when a reader elsewhere kept it from emptying the log of its moved file', async () => {
    const path = fileDb();
    const app = await appOn(path);
    expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
    const reader = new Database(path, { readonly: true });
    try {
      reader.exec('begin');
      reader.prepare('select count(*) from assessment_documents').get();
      expect((await post(app, '/v1/assessments', submission(1))).statusCode).toBe(201);
      renameSync(path, `${path}.aside`);
      await appOn(`${path}.other`).then((other) => other.close());
      renameSync(`${path}.other`, path);
      expect((await app.inject('/ready')).statusCode).toBe(503);
      expect(app.repository.close()).toMatch(
        /was moved away while open, and its log could not be emptied .*move .*-wal and its -shm aside/,
      );
    } finally {
      reader.close();
    }
  });

  // Guards against (from a review): the -wal deleted while open went unnoticed: every 201 after it
  // went into a log nothing would read at the next start (a kill -9 then lost acknowledged writes).
  // Also before the first write, and behind a link (SQLite keeps the log next to the file it leads to).
  it.each([
    ['after a write', false, true],
    ['before any write', false, false],
    ['behind a link', true, true],
  ])('refuses writes, and is not ready, once its -wal alone is deleted while open (%s)', async (_, linked, writeFirst) => {
    const path = fileDb();
    let opened = path;
    if (linked) {
      opened = `${path}.link`;
      await appOn(path).then((app) => app.close());
      symlinkSync(path, opened);
    }
    const app = await appOn(opened);
    if (writeFirst) expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
    rmSync(`${path}-wal`);
    const refused = await post(app, '/v1/assessments', submission(1));
    expect([refused.statusCode, refused.json().code]).toEqual([503, 'storage-unavailable']);
    expect((await app.inject('/ready')).json()).toMatchObject({ status: 'not-ready', checks: { database: false } });
  });

  // Guards against (from a review): with the -shm deleted while open, a second server started on the
  // path made a new one and took the write lock in it while this one kept its own: both answered 201
  // and wrote the log at once, and most of the acknowledged rows were gone after a restart.
  // Reads of stored assessments stop too: with another -shm, this connection's index of the log no
  // longer tells which pages are where.
  it.each([
    ['deleted', false, true],
    ['replaced', true, true],
    ['deleted before any write', false, false],
  ])('refuses writes and reads of stored assessments, and is not ready, once its -shm is %s while open', async (_, replace, writeFirst) => {
    const path = fileDb();
    const app = await appOn(path, { recentAssessmentsMb: 0 });
    const stored = writeFirst ? (await post(app, '/v1/assessments', submission(0))).json().id : undefined;
    rmSync(`${path}-shm`);
    if (replace) writeFileSync(`${path}-shm`, '');
    const refused = await post(app, '/v1/assessments', submission(1));
    expect([refused.statusCode, refused.json().code]).toEqual([503, 'storage-unavailable']);
    expect((await app.inject('/ready')).json()).toMatchObject({ status: 'not-ready', checks: { database: false } });
    if (stored !== undefined) {
      const read = await app.inject({ method: 'GET', url: `/v1/assessments/${stored}` });
      expect([read.statusCode, read.json().code]).toEqual([503, 'storage-unavailable']);
    }
    expect(app.repository.countAssessments()).toBe(writeFirst ? 1 : 0);
  });

  // Guards against (from a review): the check of the -shm at shutdown ran before the one of a moved
  // file, whose log the server removes itself: it logged a replaced -shm and left the connection open.
  it('closes its connection as before once its file was moved away', async () => {
    const path = fileDb();
    const app = await buildTestApp({ databasePath: path });
    expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
    renameSync(path, `${path}.aside`);
    expect((await app.inject('/ready')).statusCode).toBe(503);
    await app.close();
    expect(app.repository.isOpen()).toBe(false);
  });

  /**
   * Writes bytes no page starts with (0xa5 is no page type) over the root pages of a table and its
   * indexes, in a database no process has open: `assessment_documents`, where every insert goes,
   * `assessments`, the table of rows stored before documents, which only a read of an id this
   * database did not give out looks at, or `assessment_id_keys`, read once at start-up.
   */
  function damageRootOf(path: string, table: 'assessment_documents' | 'assessments' | 'assessment_id_keys'): void {
    const raw = new Database(path);
    const roots = raw.prepare('select rootpage from sqlite_schema where tbl_name = ? and rootpage > 0').pluck().all(table) as number[];
    const pageSize = raw.pragma('page_size', { simple: true }) as number;
    raw.close();
    const file = openSync(path, 'r+');
    for (const root of roots) writeSync(file, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
    closeSync(file);
  }

  // Guards against (from reviews): with its -shm replaced, or another -wal made after its own was
  // deleted, the server's last connection, as it closed, checkpointed the log by its own stale index
  // of it and deleted it, while another server wrote it: the file was left malformed, and acknowledged
  // rows of the other server lost.
  it.each(['-shm', '-wal'])('leaves its connection open and the log in place as it closes once its %s was replaced', async (file) => {
    const path = fileDb();
    const app = await buildTestApp({ databasePath: path });
    expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
    rmSync(`${path}${file}`);
    writeFileSync(`${path}${file}`, '');
    try {
      await app.close();
      expect([app.repository.isOpen(), existsSync(`${path}-wal`), existsSync(`${path}-shm`)]).toEqual([true, true, true]);
      expect(app.repository.close()).toMatch(
        new RegExp(`^the ${file} of the database file .* was .*replaced while open: the database is left`),
      );
    } finally {
      app.repository.sqlite.close();
    }
  });

  // Guards against (from a review): a database SQLite found damaged (SQLITE_CORRUPT) was answered 500
  // while /ready said ready, and writes went on into the damaged file.
  it('answers 503 once SQLite finds the file damaged, refuses every write after it, and is not ready until a restart', async () => {
    const path = fileDb();
    const first = await appOn(path, { recentAssessmentsMb: 0 });
    const stored: string[] = [];
    for (let n = 0; n < 3; n++) stored.push((await post(first, '/v1/assessments', submission(n))).json().id);
    await first.close();
    damageRootOf(path, 'assessments');

    const app = await appOn(path, { recentAssessmentsMb: 0 });
    expect((await app.inject('/ready')).json()).toMatchObject({ status: 'ready' });
    expect((await app.inject({ method: 'GET', url: `/v1/assessments/${stored[0]}` })).statusCode).toBe(200);
    const read = await app.inject({ method: 'GET', url: '/v1/assessments/0b6f3c52-8d47-4b2a-9e41-7c5d2f8a1e09' });
    expect([read.statusCode, read.headers['retry-after'], read.json().code]).toEqual([503, '5', 'storage-unavailable']);
    expect(read.json().detail).toBe("The database's file is damaged. Retry after the seconds in Retry-After.");
    expect((await app.inject('/ready')).json()).toMatchObject({ status: 'not-ready', checks: { database: false } });
    // An insert does not touch the damaged page (a server that had not read it stores it): refused all the same.
    const refused = await post(app, '/v1/assessments', submission(5));
    expect([refused.statusCode, refused.json().code]).toEqual([503, 'storage-unavailable']);
    expect(refused.json().detail).toMatch(/^The database's file is damaged\. Nothing this answer would have acknowledged was stored/);
    const batch = await post(app, '/v1/assessments/batch', { items: [submission(6)] });
    expect([batch.statusCode, batch.json().code]).toEqual([503, 'storage-unavailable']);
    expect(app.repository.sqlite.prepare('select count(*) from assessment_documents').pluck().get()).toBe(3);
    expect((await app.inject('/ready')).json()).toMatchObject({ status: 'not-ready', checks: { database: false } });
  });

  // Guards against (from a review): the one start-up failure whose message named no file.
  it('names the file when the key of assessment ids cannot be read at start-up', async () => {
    const path = fileDb();
    await (await appOn(path)).close();
    damageRootOf(path, 'assessment_id_keys');
    await expect(appOn(path)).rejects.toThrow(`cannot read the database ${path}: database disk image is malformed (SQLITE_CORRUPT)`);
  });

  it('finds the file damaged from the look-up of an Idempotency-Key too', async () => {
    const app = await appOn(fileDb());
    // The key table is read at start-up (its purge): damage found there stops the start. Here the
    // look-up of a key meets it.
    const statement = (app.repository as unknown as { selectIdempotency: { get: () => unknown } }).selectIdempotency;
    vi.spyOn(statement, 'get').mockImplementation(() => {
      throw new Database.SqliteError('database disk image is malformed', 'SQLITE_CORRUPT');
    });
    const keyed = await post(app, '/v1/assessments', submission(1), { 'idempotency-key': 'k-damaged-1' });
    expect([keyed.statusCode, keyed.json().code]).toEqual([503, 'storage-unavailable']);
    expect((await app.inject('/ready')).json()).toMatchObject({ status: 'not-ready', checks: { database: false } });
    const plain = await post(app, '/v1/assessments', submission(2));
    expect([plain.statusCode, plain.json().code]).toEqual([503, 'storage-unavailable']);
  });

  // The hourly purge of old Idempotency-Keys runs with no request to answer: damage it meets must
  // still take the server out of rotation, or writes would go on into the damaged file.
  it('finds the file damaged from the purge of old Idempotency-Keys too', async () => {
    const app = await appOn(fileDb());
    const { sqlite } = app.repository;
    const prepare = sqlite.prepare.bind(sqlite);
    vi.spyOn(sqlite, 'prepare').mockImplementation(((source: string) => {
      if (source.includes('delete from idempotency_keys'))
        throw new Database.SqliteError('database disk image is malformed', 'SQLITE_CORRUPT');
      return prepare(source);
    }) as typeof sqlite.prepare);
    expect(() => app.repository.purgeIdempotencyKeys(new Date())).toThrow('database disk image is malformed');
    vi.mocked(sqlite.prepare).mockRestore();
    expect((await app.inject('/ready')).json()).toMatchObject({ status: 'not-ready', checks: { database: false } });
    const refused = await post(app, '/v1/assessments', submission(1));
    expect([refused.statusCode, refused.json().code]).toEqual([503, 'storage-unavailable']);
  });

  it('finds the file damaged from a write too', async () => {
    const path = fileDb();
    const first = await appOn(path);
    expect((await post(first, '/v1/assessments', submission(0))).statusCode).toBe(201);
    await first.close();
    damageRootOf(path, 'assessment_documents');

    const app = await appOn(path);
    const refused = await post(app, '/v1/assessments', submission(1));
    expect([refused.statusCode, refused.json().code]).toEqual([503, 'storage-unavailable']);
    expect((await app.inject('/ready')).json()).toMatchObject({ status: 'not-ready', checks: { database: false } });
  });

  // Guards against (from a review): when the database's path could not be looked at any more (its
  // folder unsearchable, or, here, no longer a folder: ENOTDIR), the check of the file threw: every
  // write was a 500 with a stack trace in the log, and /ready blamed the migrations.
  it('answers 503 storage-unavailable once the path to its file cannot be looked at', async () => {
    const path = fileDb();
    const app = await appOn(path);
    expect((await post(app, '/v1/assessments', submission(0))).statusCode).toBe(201);
    const folder = dirname(path);
    renameSync(folder, `${folder}.moved`);
    writeFileSync(folder, 'not a folder');
    const refused = await post(app, '/v1/assessments', submission(1));
    expect([refused.statusCode, refused.json().code]).toEqual([503, 'storage-unavailable']);
    expect((await app.inject('/ready')).json()).toMatchObject({
      status: 'not-ready',
      checks: { database: false, migrations: true, storage: false },
    });
    rmSync(`${folder}.moved`, { recursive: true, force: true });
  });

  // Guards against: reserving a block of row numbers (the first write after a start, then one in
  // ROW_BLOCK) is a write transaction of its own that was not recorded, so its 503 left /ready ready.
  it('is not ready after the reservation of row numbers fails for its storage, as after a failed commit', async () => {
    const databasePath = fileDb();
    const app = await appOn(databasePath);
    app.repository.sqlite.pragma('busy_timeout = 100');
    const other = new Database(databasePath);
    other.exec('begin immediate');
    let refused: Awaited<ReturnType<typeof post>>;
    try {
      refused = await post(app, '/v1/assessments', submission(0));
    } finally {
      other.exec('rollback');
      other.close();
    }
    expect([refused.statusCode, refused.json().code]).toEqual([503, 'storage-unavailable']);
    expect((await app.inject('/ready')).json()).toMatchObject({ status: 'not-ready', checks: { storage: false } });
    expect((await post(app, '/v1/assessments', submission(1))).statusCode).toBe(201);
    expect((await app.inject('/ready')).json()).toMatchObject({ status: 'ready', checks: { storage: true } });
  });

  // Guards against: a batch whose items were all refused still waited for a commit of nothing, so
  // while another process held the write lock it blocked for a busy timeout and answered 500
  // instead of its item problems (a refused single submission never touches the database).
  it('answers a batch of refused items with their problems, having nothing to store', async () => {
    const databasePath = fileDb();
    const app = await appOn(databasePath);
    app.repository.sqlite.pragma('busy_timeout = 200');
    const other = new Database(databasePath);
    other.exec('begin immediate');
    try {
      const bad = { answers: [{ questionId: 'q-nowhere', value: 3 }] };
      const response = await post(app, '/v1/assessments/batch', { items: [bad, { answers: 'none' }] });
      expect(response.statusCode).toBe(200);
      expect(response.json().items.map((i: { status: number }) => i.status)).toEqual([422, 400]);
    } finally {
      other.exec('rollback');
      other.close();
    }
  });
});

describe('failures outside a request', () => {
  // Guards against: the start-up purge of old Idempotency-Keys ran after the wait for a lock was cut
  // to the serving 5 ms, so a second server or db:seed writing at that moment failed the start.
  it('starts while another process holds the write lock through the start-up purge, which waits for it', async () => {
    const databasePath = fileDb();
    await (await buildTestApp({ databasePath })).close();
    const purge = Repository.prototype.purgeIdempotencyKeys;
    let released: Promise<unknown> = Promise.resolve();
    let purgeMs = 0;
    vi.spyOn(Repository.prototype, 'purgeIdempotencyKeys').mockImplementationOnce(function (this: Repository, ...args) {
      released = holdLockElsewhere(databasePath, 200);
      const started = performance.now();
      try {
        return purge.apply(this, args);
      } finally {
        purgeMs = performance.now() - started;
      }
    });
    const app = await appOn(databasePath);
    await released;
    expect(purgeMs).toBeGreaterThanOrEqual(150);
    expect((await app.inject('/health')).statusCode).toBe(200);
  });

  it('keeps the server up when the hourly purge of Idempotency-Keys meets a locked database', async () => {
    const databasePath = fileDb();
    const intervals = vi.spyOn(globalThis, 'setInterval');
    const app = await appOn(databasePath);
    const hourly = intervals.mock.calls.find(([, ms]) => ms === 60 * 60 * 1000)?.[0] as (() => void) | undefined;
    intervals.mockRestore();
    expect(hourly).toBeTypeOf('function');
    app.repository.sqlite.pragma('busy_timeout = 50');
    const other = new Database(databasePath);
    other.exec('begin immediate');
    try {
      // Thrown from a timer callback, this is an uncaught exception: Node ends the process, and every
      // request in flight with it.
      expect(() => hourly?.()).not.toThrow();
    } finally {
      other.exec('rollback');
      other.close();
    }
    expect((await post(app, '/v1/assessments', submission(1))).statusCode).toBe(201);
  });

  it('answers a read of a stored assessment that fails in the database with a 500, also before routing', async () => {
    // Nothing kept in memory: a read of what this process just stored goes to the database too.
    const app = await appOn(':memory:', { recentAssessmentsMb: 0 });
    const { base } = await listenLocally(app);
    const get = (path: string) =>
      new Promise<number>((resolve) => {
        const req = request(`${base}${path}`, { agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', () => resolve(0));
        req.end();
      });
    // An exception out of the server's request listener is uncaught (the process ends): record it
    // here instead, and drop the connection.
    const escaped: unknown[] = [];
    const emit = app.server.emit.bind(app.server) as (event: string, ...args: unknown[]) => boolean;
    app.server.emit = ((event: string, ...args: unknown[]) => {
      if (event !== 'request') return emit(event, ...args);
      try {
        return emit(event, ...args);
      } catch (error) {
        escaped.push(error);
        (args[1] as { destroy(): void }).destroy();
        return true;
      }
    }) as typeof app.server.emit;

    const created = (await post(app, '/v1/assessments', submission(1))).json() as { id: string };
    const other = (await post(app, '/v1/assessments', submission(2))).json() as { id: string };
    // A first 200 through Fastify lets the cached front answer later reads of stored assessments.
    expect(await get(`/v1/assessments/${created.id}`)).toBe(200);

    vi.spyOn(app.repository, 'findAssessment').mockImplementation(() => {
      throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_READ' });
    });
    const status = await get(`/v1/assessments/${other.id}`);
    expect(escaped.map(String)).toEqual([]);
    expect(status).toBe(500);
  });

  it('answers a read that meets a storage fault 503 without telling it to resend a submission', async () => {
    const app = await appOn(':memory:', { recentAssessmentsMb: 0 });
    const created = (await post(app, '/v1/assessments', submission(1))).json() as { id: string };
    vi.spyOn(app.repository, 'findAssessment').mockImplementation(() => {
      throw new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_READ');
    });
    const read = await app.inject({ method: 'GET', url: `/v1/assessments/${created.id}` });
    expect([read.statusCode, read.headers['retry-after'], read.json().code]).toEqual([503, '5', 'storage-unavailable']);
    expect(read.json().detail).toBe('The database failed to read or write its file. Retry after the seconds in Retry-After.');
  });
});

describe('Idempotency-Keys through failures and processes', () => {
  it('a batch in a turn whose transaction is rolled back stores nothing; its retry with the same key stores once', async () => {
    const app = await appOn();
    app.repository.sqlite.exec(
      `create trigger fault_rollback before insert on assessment_documents when new.respondent = 'fault-99'
       begin select raise(rollback, 'transaction rolled back'); end`,
    );
    const key = { 'idempotency-key': 'fault-batch-1' };
    const batch = { items: [submission(1), { answers: 'none' }, submission(2)] };
    const before = app.repository.countAssessments();
    const failed = await Promise.all([post(app, '/v1/assessments/batch', batch, key), post(app, '/v1/assessments', submission(99))]);
    expect(failed.map((r) => r.statusCode)).toEqual([500, 500]);
    expect(app.repository.countAssessments()).toBe(before);
    expect(app.repository.findIdempotency('batch', 'fault-batch-1')).toBeUndefined();

    // Two retries at once, from two addresses (one client holds one of the two batch places).
    const [retry, again] = await Promise.all([
      post(app, '/v1/assessments/batch', batch, key, '10.0.0.1'),
      post(app, '/v1/assessments/batch', batch, key, '10.0.0.2'),
    ]);
    expect([retry.statusCode, again.statusCode]).toEqual([200, 200]);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(retry.body);
    expect(retry.json().items.map((i: { status: number }) => i.status)).toEqual([201, 400, 201]);
    expect(app.repository.countAssessments()).toBe(before + 2);
  });

  it('two processes given one Idempotency-Key in the same turn store once and answer alike', async () => {
    const databasePath = fileDb();
    const a = await appOn(databasePath);
    const b = await appOn(databasePath);
    const key = { 'idempotency-key': 'fault-two-processes' };
    const [first, second] = await Promise.all([
      post(a, '/v1/assessments', submission(5), key),
      post(b, '/v1/assessments', submission(5), key),
    ]);
    expect([first.statusCode, second.statusCode]).toEqual([201, 201]);
    expect(second.body).toBe(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(a.repository.countAssessments()).toBe(1);
  });
});
