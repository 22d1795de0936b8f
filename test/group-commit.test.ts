import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { App } from '../src/app.js';
import { openDatabase } from '../src/db/client.js';
import { type AssessmentRecord, type NewAssessmentId, Repository } from '../src/db/repository.js';
import { GroupCommit } from '../src/services/group-commit.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed } from './support/fixtures.js';

const QUESTIONS = readRawSeed().questions.questions;

let repository: Repository;

function record(at: NewAssessmentId = repository.newAssessmentId()): AssessmentRecord {
  return {
    ...at,
    createdAt: new Date().toISOString(),
    companySize: null,
    respondent: null,
    document: '{}',
    instrumentVersion: 'i',
    scoringVersion: 's',
    kbRelease: 'k',
    idempotencyKey: null,
  };
}

describe('GroupCommit', () => {
  beforeEach(() => {
    const { sqlite, db } = openDatabase(':memory:');
    repository = new Repository(sqlite, db);
  });
  afterEach(() => {
    repository.close();
  });

  it('commits the saves of one turn of the event loop in one transaction', async () => {
    const groups = vi.spyOn(repository, 'saveAssessmentGroups');
    const writer = new GroupCommit(repository);
    await Promise.all(Array.from({ length: 25 }, () => writer.save({ records: [record()] })));
    expect(groups).toHaveBeenCalledTimes(1);
    expect(repository.countAssessments()).toBe(25);
    await writer.save({ records: [record(), record()] });
    expect(groups).toHaveBeenCalledTimes(2);
    expect(repository.countAssessments()).toBe(27);
  });

  it('settles a save only after its rows are committed', async () => {
    const writer = new GroupCommit(repository);
    const saved = writer.save({ records: [record()] });
    expect(repository.countAssessments()).toBe(0);
    await saved;
    expect(repository.countAssessments()).toBe(1);
  });

  it('rolls back a failing group alone; the others commit', async () => {
    const writer = new GroupCommit(repository);
    const taken = repository.newAssessmentId();
    await writer.save({ records: [record(taken)] });
    const outcomes = await Promise.allSettled([
      writer.save({ records: [record(), record()] }),
      writer.save({ records: [record(), record(taken)] }),
      writer.save({
        records: [record()],
        idempotency: { scope: 'assessment', key: 'k1', requestHash: 'h', statusCode: 201, response: '{}', assessmentIds: null },
      }),
      writer.save({ records: [record(taken)] }),
      writer.save({ records: [record()] }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(String((outcomes[3] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    // 1 before, 2 from the first group, none of the second (its first row rolled back too), 1 from
    // the third, none from the fourth (one row, no savepoint) and 1 from the fifth.
    expect(repository.countAssessments()).toBe(5);
    expect(repository.findIdempotency('assessment', 'k1')?.statusCode).toBe(201);
  });

  it.each([
    ['a single insert', 1],
    ['a savepoint', 2],
  ])("rejects every save of the turn, storing none, when a group's error ends the whole transaction (in %s)", async (_, size) => {
    // SQLite rolls back the whole transaction on some errors (a full disk, an I/O error); a trigger
    // raising ROLLBACK does the same on demand. No group may then be stored outside the group commit.
    repository.sqlite.exec(
      `create trigger fail_whole before insert on assessment_documents when new.respondent = 'rollback'
       begin select raise(rollback, 'transaction rolled back'); end`,
    );
    const writer = new GroupCommit(repository);
    const outcomes = await Promise.allSettled([
      writer.save({ records: [record()] }),
      writer.save({ records: [...Array.from({ length: size - 1 }, () => record()), { ...record(), respondent: 'rollback' }] }),
      writer.save({ records: [record()] }),
      writer.save({ records: [record(), record()] }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(repository.countAssessments()).toBe(0);
    expect(String((outcomes[3] as PromiseRejectedResult).reason)).toMatch(/transaction rolled back/);
    expect(repository.sqlite.inTransaction).toBe(false);
    await writer.save({ records: [record()] });
    expect(repository.countAssessments()).toBe(1);
  });

  it('rejects every save of the turn when the transaction cannot commit', async () => {
    const writer = new GroupCommit(repository);
    const records = [record(), record()];
    const failure = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
    vi.spyOn(repository, 'saveAssessmentGroups').mockImplementation(() => {
      throw failure;
    });
    const outcomes = await Promise.allSettled(records.map((r) => writer.save({ records: [r] })));
    expect(outcomes).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
  });

  // Guards against: a save still waiting for a lock held elsewhere when the server closed the
  // database (its shutdown grace ran out) met the closed connection and was answered and logged as
  // an internal error.
  it('answers the saves still waiting for a lock once the database is closed: shutting down, nothing stored', async () => {
    const writer = new GroupCommit(repository);
    const tries = vi.spyOn(repository, 'saveAssessmentGroups').mockImplementation(() => {
      throw Object.assign(new Error('database is locked'), { name: 'SqliteError', code: 'SQLITE_BUSY' });
    });
    const saved = writer.save({ records: [record()] });
    await vi.waitFor(() => expect(tries.mock.calls.length).toBeGreaterThan(1));
    repository.close();
    await expect(saved).rejects.toMatchObject({ code: 'shutting-down', status: 503, headers: { 'retry-after': '5', connection: 'close' } });
    const triesAtClose = tries.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(tries.mock.calls.length).toBe(triesAtClose);
  });
});

describe('POST /v1/assessments under concurrency', () => {
  let app: App;
  beforeEach(async () => {
    app = await buildTestApp();
  });
  afterEach(async () => {
    await app.close();
  });

  const submission = (n: number) => ({
    respondent: `c-${n}`,
    answers: QUESTIONS.map((q, i) => ({ questionId: q.id, value: ((i + n) % 5) + 1 })),
  });
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/assessments',
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(payload),
    });

  it('answers 40 simultaneous submissions with 201s that all read back, in fewer commits than requests', async () => {
    const before = app.repository.countAssessments();
    const groups = vi.spyOn(app.repository, 'saveAssessmentGroups');
    const responses = await Promise.all(Array.from({ length: 40 }, (_, n) => post(submission(n))));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(40).fill(201));
    expect(groups.mock.calls.length).toBeLessThan(40);
    // Stored, not only kept in memory: the reads below may be answered from the recent ones.
    expect(app.repository.countAssessments()).toBe(before + 40);
    for (const [n, response] of responses.entries()) {
      const read = await app.inject({ url: String(response.headers.location) });
      expect(read.statusCode).toBe(200);
      expect(read.json().respondent).toBe(`c-${n}`);
      expect(read.body).toBe(response.body);
    }
  });

  it('gives one Idempotency-Key sent with two bodies at once one 201 and one 422, storing once', async () => {
    const before = app.repository.countAssessments();
    const headers = { 'idempotency-key': 'race-1' };
    const [first, second] = await Promise.all([post(submission(1), headers), post(submission(2), headers)]);
    expect([first?.statusCode, second?.statusCode]).toEqual([201, 422]);
    expect(second?.json().code).toBe('idempotency-key-reused');
    expect(app.repository.countAssessments()).toBe(before + 1);
  });

  // Guards against: a 500-item batch was scored in one go, holding every other request up for about
  // 200 ms. Scored a slice at a time, a request that arrives meanwhile is answered between slices.
  it('answers other requests while a large batch is being scored, and stores the batch once', async () => {
    const items = Array.from({ length: 200 }, (_, n) => submission(n));
    let scored = 0;
    let scoredWhenAnswered: number | undefined;
    // Each scored item takes a new id: count them, and send another request as the first is scored.
    const newId = app.repository.newAssessmentId.bind(app.repository);
    const ids = vi.spyOn(app.repository, 'newAssessmentId').mockImplementation(() => {
      scored++;
      if (scored === 1) void app.inject('/health').then(() => (scoredWhenAnswered = scored));
      return newId();
    });
    const before = app.repository.countAssessments();
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/assessments/batch',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'sliced-batch' },
      payload: JSON.stringify({ items }),
    });
    ids.mockRestore();
    expect(batch.statusCode).toBe(200);
    expect(scored).toBe(200);
    expect(scoredWhenAnswered).toBeLessThan(100);
    expect(app.repository.countAssessments()).toBe(before + 200);
    // A retry that arrives while the batch is scored waits for it and replays it: stored once. It
    // comes from another address (a second worker given the key): one client holds one batch place.
    const send = (remoteAddress: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/assessments/batch',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'sliced-twice' },
        payload: JSON.stringify({ items }),
        remoteAddress,
      });
    const groups = vi.spyOn(app.repository, 'saveAssessmentGroups');
    const [first, retry] = await Promise.all([send('10.0.0.1'), send('10.0.0.2')]);
    expect([first?.statusCode, retry?.statusCode, retry?.headers['idempotent-replayed']]).toEqual([200, 200, 'true']);
    // The retry waited: it was never scored and saved only to be rolled back on the key.
    expect(groups.mock.calls.flat(2)).toHaveLength(1);
    expect(retry?.body).toBe(first?.body);
    expect(app.repository.countAssessments()).toBe(before + 400);
  });

  it('answers 500 without storing when the commit fails, and keeps serving after', async () => {
    const groups = vi.spyOn(app.repository, 'saveAssessmentGroups').mockImplementationOnce(() => {
      throw new Error('disk I/O error');
    });
    const before = app.repository.countAssessments();
    const failed = await Promise.all([post(submission(3)), post(submission(4))]);
    expect(failed.map((r) => r.statusCode)).toEqual([500, 500]);
    expect(failed[0]?.json().detail ?? '').not.toMatch(/disk/);
    expect(app.repository.countAssessments()).toBe(before);
    groups.mockRestore();
    expect((await post(submission(5))).statusCode).toBe(201);
  });
});
