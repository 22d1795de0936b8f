import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { migrationsFolder } from '../src/paths.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed } from './support/fixtures.js';
import { responseProblems } from './support/openapi.js';

const QUESTIONS = readRawSeed().questions.questions;
const submission = (seed: number) => ({
  companySize: 'startup',
  respondent: `storage-${seed}`,
  answers: QUESTIONS.map((q, i) => ({ questionId: q.id, value: ((i * 3 + seed) % 5) + 1 })),
});

const post = (app: App, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v1/assessments',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(payload),
  });

describe('stored assessment documents', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('keeps each assessment as the gzip of the JSON the 201 answered', async () => {
    const created = await post(app, submission(1));
    expect(created.statusCode).toBe(201);
    const row = app.repository.sqlite.prepare('select document, answers, result from assessments where id = ?').get(created.json().id) as {
      document: Buffer;
      answers: string | null;
      result: string | null;
    };
    expect(gunzipSync(row.document).toString('utf8')).toBe(created.body);
    expect(row.answers).toBeNull();
    expect(row.result).toBeNull();
  });

  it('reads an assessment back as the same JSON, plain or gzip-compressed, as the client accepts', async () => {
    const created = await post(app, submission(2));
    const url = `/v1/assessments/${created.json().id}`;
    const plain = await app.inject({ url });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(created.body);
    expect(responseProblems('GET', url, 200, String(plain.headers['content-type']), plain.body)).toEqual([]);
    for (const acceptEncoding of ['gzip', 'gzip, deflate, br', 'br;q=1, gzip;q=0.5']) {
      const compressed = await app.inject({ url, headers: { 'accept-encoding': acceptEncoding } });
      expect(compressed.statusCode).toBe(200);
      expect(compressed.headers['content-encoding'], acceptEncoding).toBe('gzip');
      expect(compressed.headers['content-type']).toBe(plain.headers['content-type']);
      expect(gunzipSync(compressed.rawPayload).toString('utf8')).toBe(plain.body);
      expect(String(compressed.headers.vary).toLowerCase()).toContain('accept-encoding');
    }
    for (const acceptEncoding of ['br', 'identity', 'gzip;q=0', 'deflate']) {
      const response = await app.inject({ url, headers: { 'accept-encoding': acceptEncoding } });
      expect(response.headers['content-encoding'], acceptEncoding).toBeUndefined();
      expect(response.body).toBe(plain.body);
    }
  });

  it('answers a POST in gzip when the client accepts it, with the Location of the same assessment', async () => {
    const created = await post(app, submission(3), { 'accept-encoding': 'gzip' });
    expect(created.statusCode).toBe(201);
    expect(created.headers['content-encoding']).toBe('gzip');
    const json = gunzipSync(created.rawPayload).toString('utf8');
    expect(responseProblems('POST', '/v1/assessments', 201, String(created.headers['content-type']), json)).toEqual([]);
    const read = await app.inject({ url: String(created.headers.location) });
    expect(read.body).toBe(json);
  });

  it('replays an Idempotency-Key with the same JSON whatever coding either request accepted', async () => {
    const headers = { 'idempotency-key': 'storage-replay-1' };
    const first = await post(app, submission(4), { ...headers, 'accept-encoding': 'gzip' });
    const replay = await post(app, submission(4), headers);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toBe(gunzipSync(first.rawPayload).toString('utf8'));
  });

  it('reads rows stored before documents existed from their answers and result', async () => {
    const created = (await post(app, submission(5))).json();
    const legacyId = '00000000-0000-4000-8000-00000000beef';
    app.repository.sqlite
      .prepare(
        `insert into assessments (id, created_at, company_size, respondent, answers, result, instrument_version, scoring_version, kb_release)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        legacyId,
        created.createdAt,
        created.companySize,
        created.respondent,
        JSON.stringify(created.answers),
        JSON.stringify(created.result),
        created.result.versions.instrument,
        created.result.versions.scoring,
        created.result.versions.kbRelease,
      );
    for (const headers of [{}, { 'accept-encoding': 'gzip' }]) {
      const response = await app.inject({ url: `/v1/assessments/${legacyId}`, headers });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-encoding']).toBeUndefined();
      expect(response.json()).toEqual({ ...created, id: legacyId });
    }
  });

  it('refuses a row with neither a document nor answers and result', () => {
    expect(() =>
      app.repository.sqlite
        .prepare(
          `insert into assessments (id, created_at, instrument_version, scoring_version, kb_release)
           values ('00000000-0000-4000-8000-000000000001', '2026-01-01T00:00:00.000Z', 'i', 's', 'k')`,
        )
        .run(),
    ).toThrow(/CHECK constraint failed/);
  });
});

describe('upgrading a database stored before documents', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rc-upgrade-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every assessment, readable as it was scored', async () => {
    // A database migrated only as far as the first migration, holding one assessment of that time.
    const firstOnly = join(dir, 'migrations');
    cpSync(migrationsFolder, firstOnly, { recursive: true });
    const journalPath = join(firstOnly, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
    writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, 1) }));
    const databasePath = join(dir, 'old.sqlite');
    const old = new Database(databasePath);
    migrate(drizzle({ client: old }), { migrationsFolder: firstOnly });
    const answers = JSON.stringify([{ questionId: QUESTIONS[0]?.id, value: 4 }]);
    const result = JSON.stringify({ scores: [], note: 'scored by an earlier version' });
    old
      .prepare(
        `insert into assessments (id, created_at, company_size, respondent, answers, result, instrument_version, scoring_version, kb_release)
         values ('00000000-0000-4000-8000-0000000000aa', '2026-11-01T10:00:00.000Z', null, 'before', ?, ?, 'i0', 's0', 'k0')`,
      )
      .run(answers, result);
    old.close();

    const upgraded = await buildTestApp({ databasePath });
    try {
      const response = await upgraded.inject({ url: '/v1/assessments/00000000-0000-4000-8000-0000000000aa' });
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe(
        `{"id":"00000000-0000-4000-8000-0000000000aa","createdAt":"2026-11-01T10:00:00.000Z","companySize":null,"respondent":"before","answers":${answers},"result":${result}}`,
      );
      expect(upgraded.repository.countAssessments()).toBe(1);
    } finally {
      await upgraded.close();
    }
  });
});
