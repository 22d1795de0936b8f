import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppOptions } from '../src/app.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed, TempDirs } from './support/fixtures.js';
import { responseProblems } from './support/openapi.js';

const QUESTIONS = readRawSeed().questions.questions;

const temp = new TempDirs();
afterAll(() => temp.cleanup());

type App = Awaited<ReturnType<typeof buildTestApp>>;

/** An app on a database file of its own, with what it logs kept as parsed lines. */
async function appWith(options: AppOptions) {
  const lines: { level: number; msg: string; [field: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const app = await buildTestApp({ databasePath: join(temp.make(), 'kb.sqlite'), logger: { level: 'info', stream }, ...options });
  return { app, lines };
}

/** A request through the app, its answer checked against the OpenAPI document. */
async function call(app: App, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) {
  const response = await app.inject({
    method,
    url,
    headers: payload === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
  expect(responseProblems(method, url, response.statusCode, response.headers['content-type'] as string | undefined, response.body)).toEqual(
    [],
  );
  return response;
}

const submission = (respondent: string) => ({
  respondent,
  answers: QUESTIONS.map((q, i) => ({ questionId: q.id, value: (i % 5) + 1 })),
});

const storedRows = (app: App) => app.repository.sqlite.prepare('select count(*) from assessment_documents').pluck().get() as number;

describe('room for new assessments', () => {
  it('refuses new assessments with a 507 once the database holds DATABASE_MAX_MB, and takes them again once erasures make room', async () => {
    const { app, lines } = await appWith({ databaseMaxMb: 1, diskReserveMb: 0 });
    try {
      const stored: string[] = [];
      let refused: Awaited<ReturnType<typeof call>> | undefined;
      for (let i = 0; i < 300 && refused === undefined; i++) {
        const answer = await call(app, 'POST', '/v1/assessments', submission(`person ${i}`));
        if (answer.statusCode === 201) stored.push(answer.headers.location as string);
        else refused = answer;
      }
      // The seeded database takes about 0.4 MB of the MiB, and an assessment about 10 KB.
      expect(stored.length).toBeGreaterThan(20);
      expect(refused?.statusCode).toBe(507);
      expect(refused?.headers.location).toBeUndefined();
      expect(refused?.headers['retry-after']).toBeUndefined();
      expect(refused?.json()).toMatchObject({
        type: '/problems/insufficient-storage',
        title: 'Insufficient Storage',
        status: 507,
        detail: expect.stringContaining('nothing of this request was stored'),
      });
      // Sent without a key: not told to send "the same" one as if it had.
      expect(refused?.json().detail).toContain('Send it again (with the same Idempotency-Key, if it had one) once room is made');
      expect(app.repository.storageUse().usedBytes).toBeGreaterThanOrEqual(1024 * 1024 - 64 * 1024);
      expect(storedRows(app)).toBe(stored.length);

      // Refused under a key, which is not kept: the same request is stored once there is room.
      const key = { 'idempotency-key': 'room-test-1' };
      expect((await call(app, 'POST', '/v1/assessments', submission('keyed'), key)).statusCode).toBe(507);
      // A batch that would store anything is refused whole; one that stores nothing is answered.
      const batch = { items: [submission('a'), { answers: [] }, submission('b')] };
      expect((await call(app, 'POST', '/v1/assessments/batch', batch)).statusCode).toBe(507);
      const refusedOnly = await call(app, 'POST', '/v1/assessments/batch', { items: [{ answers: [] }] });
      expect(refusedOnly.statusCode).toBe(200);
      expect(refusedOnly.json().items[0].status).toBe(400);
      // Under a key, such a batch keeps its answer, the problems of its items: that takes room too.
      const keyedRefusedOnly = await call(
        app,
        'POST',
        '/v1/assessments/batch',
        { items: Array.from({ length: 100 }, () => ({ answers: [] })) },
        { 'idempotency-key': 'room-k2' },
      );
      expect(keyedRefusedOnly.statusCode).toBe(507);
      expect(app.repository.findIdempotency('batch', 'room-k2')).toBeUndefined();
      // A submission that could not be stored anyway is told what is wrong with it.
      expect((await call(app, 'POST', '/v1/assessments', { answers: [] })).statusCode).toBe(400);
      expect(storedRows(app)).toBe(stored.length);

      // Reads, previews and readiness are untouched.
      expect((await call(app, 'GET', stored[0] as string)).statusCode).toBe(200);
      expect((await call(app, 'POST', '/v1/assessments/preview', submission('preview'))).statusCode).toBe(200);
      expect((await call(app, 'GET', '/ready')).statusCode).toBe(200);

      const full = lines.filter((line) => line.msg.includes('DATABASE_MAX_MB'));
      expect(full).toHaveLength(1);
      expect(full[0]).toMatchObject({ level: 40, maxDatabaseBytes: 1024 * 1024 });
      expect(full[0]?.storedBytes).toBeGreaterThan(1024 * 1024 - 16 * 1024);
      expect(full[0]?.storedBytes).toBeLessThanOrEqual(1024 * 1024);

      for (const location of stored.slice(0, 10)) expect((await call(app, 'DELETE', location)).statusCode).toBe(204);
      const retried = await call(app, 'POST', '/v1/assessments', submission('keyed'), key);
      expect(retried.statusCode).toBe(201);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
      expect(lines.filter((line) => line.msg === 'there is room for new assessments again')).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('keeps requests side by side, and a batch, within DATABASE_MAX_MB: each refused whole when it would pass it', async () => {
    const { app } = await appWith({ databaseMaxMb: 1, diskReserveMb: 0 });
    try {
      const batch = { items: Array.from({ length: 120 }, (_, i) => submission(`batch ${i}`)) };
      const refusedBatch = await call(app, 'POST', '/v1/assessments/batch', batch);
      expect(refusedBatch.statusCode).toBe(507);
      expect(storedRows(app)).toBe(0);
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          app.inject({
            method: 'POST',
            url: '/v1/assessments',
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify(submission(`at once ${i}`)),
          }),
        ),
      );
      const statuses = answers.map((answer) => answer.statusCode);
      expect(statuses.filter((status) => status === 507).length).toBeGreaterThan(0);
      expect(statuses.filter((status) => status !== 201 && status !== 507)).toEqual([]);
      expect(storedRows(app)).toBe(statuses.filter((status) => status === 201).length);
      expect(app.repository.storageUse().usedBytes).toBeLessThanOrEqual(1024 * 1024);
      // A smaller batch that fits where the larger one did not.
      for (const location of answers.flatMap((answer) => answer.headers.location ?? []).slice(0, 20)) {
        expect((await call(app, 'DELETE', location as string)).statusCode).toBe(204);
      }
      const fits = await call(app, 'POST', '/v1/assessments/batch', { items: batch.items.slice(0, 10) });
      expect(fits.statusCode).toBe(200);
      expect(storedRows(app)).toBe(statuses.filter((status) => status === 201).length - 20 + 10);
      expect(app.repository.storageUse().usedBytes).toBeLessThanOrEqual(1024 * 1024);
    } finally {
      await app.close();
    }
  });

  it('refuses new assessments with a 507 while the disk under the database has no more than DISK_RESERVE_MB free', async () => {
    // A reserve larger than any disk this runs on.
    const { app, lines } = await appWith({ diskReserveMb: 1024 ** 3 });
    try {
      // Logged as the server starts, before any submission is refused for it.
      await app.ready();
      expect(lines.filter((line) => line.msg.includes('DISK_RESERVE_MB')).map((line) => line.level)).toEqual([40]);
      const refused = await call(app, 'POST', '/v1/assessments', submission('someone'));
      expect(refused.statusCode).toBe(507);
      expect(refused.json().detail).toContain('The disk that holds the database is nearly full');
      expect(storedRows(app)).toBe(0);
      expect(lines.filter((line) => line.msg.includes('DISK_RESERVE_MB'))).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('stores as before with the default reserve on a disk with room, and with no limit for a database in memory', async () => {
    const { app } = await appWith({});
    const inMemory = await buildTestApp({ diskReserveMb: 1024 ** 3 });
    try {
      expect(app.repository.storageUse().freeDiskBytes).toBeGreaterThan(256 * 1024 * 1024);
      expect((await call(app, 'POST', '/v1/assessments', submission('someone'))).statusCode).toBe(201);
      expect(inMemory.repository.storageUse().freeDiskBytes).toBeUndefined();
      expect((await call(inMemory, 'POST', '/v1/assessments', submission('someone'))).statusCode).toBe(201);
    } finally {
      await app.close();
      await inMemory.close();
    }
  });
});
