import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { AssessmentIds, type AssessmentLocation } from '../src/db/assessment-ids.js';
import { DEFAULT_CACHE_MB, openDatabase, PAGE_SIZE } from '../src/db/client.js';
import { migrationsFolder } from '../src/paths.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed, TempDirs } from './support/fixtures.js';
import { injectPost } from './support/http.js';
import { responseProblems } from './support/openapi.js';

const QUESTIONS = readRawSeed().questions.questions;
const submission = (seed: number) => ({
  companySize: 'startup',
  respondent: `storage-${seed}`,
  answers: QUESTIONS.map((q, i) => ({ questionId: q.id, value: ((i * 3 + seed) % 5) + 1 })),
});

const post = (app: App, payload: unknown, headers: Record<string, string> = {}) => injectPost(app, '/v1/assessments', payload, headers);

describe('stored assessment documents', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('keeps each assessment as the JSON text the 201 answered, byte for byte', async () => {
    const created = await post(app, submission(1));
    expect(created.statusCode).toBe(201);
    const sqlite = app.repository.sqlite;
    const key = sqlite.prepare('select key from assessment_id_keys').pluck().get() as Buffer;
    const stored = new AssessmentIds(key).decode(created.json().id) as AssessmentLocation;
    const row = sqlite
      .prepare('select document, typeof(document) as storedAs from assessment_documents where row_id = ? and tag = ?')
      .get(stored.row, stored.tag) as { document: string; storedAs: string };
    expect(row.storedAs).toBe('text');
    expect(row.document).toBe(created.body);
    // New assessments are numbered rows; the table of rows with random UUIDs gets none.
    expect(sqlite.prepare('select count(*) from assessments').pluck().get()).toBe(0);
  });

  it('reads an assessment back as the same JSON, uncompressed whatever the client accepts', async () => {
    const created = await post(app, submission(2));
    const url = `/v1/assessments/${created.json().id}`;
    for (const acceptEncoding of [undefined, 'gzip', 'gzip, deflate, br', 'br', 'identity']) {
      const response = await app.inject({ url, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-encoding'], acceptEncoding).toBeUndefined();
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.headers['cache-control']).toBe('private, max-age=86400, immutable');
      expect(response.body).toBe(created.body);
      expect(responseProblems('GET', url, 200, String(response.headers['content-type']), response.body)).toEqual([]);
    }
  });

  it('answers a POST with the JSON it stores and the Location to read it back, whatever the client accepts', async () => {
    const created = await post(app, submission(3), { 'accept-encoding': 'gzip, deflate, br' });
    expect(created.statusCode).toBe(201);
    expect(created.headers['content-encoding']).toBeUndefined();
    expect(responseProblems('POST', '/v1/assessments', 201, String(created.headers['content-type']), created.body)).toEqual([]);
    const read = await app.inject({ url: String(created.headers.location) });
    expect(read.body).toBe(created.body);
  });

  it('replays an Idempotency-Key with the same JSON whatever coding either request accepted', async () => {
    const headers = { 'idempotency-key': 'storage-replay-1' };
    const first = await post(app, submission(4), { ...headers, 'accept-encoding': 'gzip' });
    const replay = await post(app, submission(4), headers);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toBe(first.body);
  });

  it('reads rows whose document was stored gzip-compressed: gzip when accepted, JSON otherwise', async () => {
    const created = await post(app, submission(6));
    const compressedId = '00000000-0000-4000-8000-00000000c0de';
    const json = created.body.replace(created.json().id, compressedId);
    app.repository.sqlite
      .prepare(
        `insert into assessments (id, created_at, document, instrument_version, scoring_version, kb_release)
         values (?, ?, ?, 'i', 's', 'k')`,
      )
      .run(compressedId, created.json().createdAt, gzipSync(json, { level: 3 }));
    const url = `/v1/assessments/${compressedId}`;
    for (const acceptEncoding of ['gzip', 'gzip, deflate, br', 'br;q=1, gzip;q=0.5']) {
      const response = await app.inject({ url, headers: { 'accept-encoding': acceptEncoding } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-encoding'], acceptEncoding).toBe('gzip');
      expect(String(response.headers.vary).toLowerCase()).toContain('accept-encoding');
      expect(gunzipSync(response.rawPayload).toString('utf8')).toBe(json);
    }
    for (const acceptEncoding of [undefined, 'br', 'identity', 'gzip;q=0', 'deflate']) {
      const response = await app.inject({ url, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-encoding'], acceptEncoding).toBeUndefined();
      expect(String(response.headers.vary).toLowerCase()).toContain('accept-encoding');
      expect(response.body).toBe(json);
      expect(responseProblems('GET', url, 200, String(response.headers['content-type']), response.body)).toEqual([]);
    }
  });

  it('answers If-None-Match: * with 304 once the assessment exists; no list of tags matches it', async () => {
    const created = await post(app, submission(7));
    const url = `/v1/assessments/${created.json().id}`;
    const ok = await app.inject({ url });
    for (const ifNoneMatch of ['*', ' * ']) {
      const response = await app.inject({ url, headers: { 'if-none-match': ifNoneMatch } });
      expect(response.statusCode, ifNoneMatch).toBe(304);
      expect(response.rawPayload.length).toBe(0);
      expect(response.headers['cache-control']).toBe('private, max-age=86400, immutable');
      expect(response.headers['content-length']).toBeUndefined();
      expect(response.headers['content-type']).toBeUndefined();
      expect(response.headers['x-request-id']).toEqual(expect.any(String));
    }
    // A HEAD's 304 carries the length of the 200 it stands for.
    const head = await app.inject({ method: 'HEAD', url, headers: { 'if-none-match': '*' } });
    expect(head.statusCode).toBe(304);
    expect(head.rawPayload.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(ok.rawPayload.length));
    // A stored assessment has no entity tag, so a list of tags (even with a tag of it in it) never matches.
    for (const ifNoneMatch of ['"abc"', 'W/"abc"', `"${created.json().id}"`, '"abc", *']) {
      const response = await app.inject({ url, headers: { 'if-none-match': ifNoneMatch } });
      expect(response.statusCode, ifNoneMatch).toBe(200);
      expect(response.body).toBe(created.body);
    }
    // An unknown id has no current representation: `*` does not match, and the read is 404.
    const unknown = await app.inject({ url: '/v1/assessments/00000000-0000-4000-8000-000000000404', headers: { 'if-none-match': '*' } });
    expect(unknown.statusCode).toBe(404);
  });

  // RFC 9110, 13.1.1. Guards against: If-Match ignored, so a read that the client made conditional on
  // a tag the assessment does not carry was answered 200.
  it('answers If-Match: * with the assessment, and any list of tags 412; an unknown id stays a 404', async () => {
    const created = await post(app, submission(9));
    const url = `/v1/assessments/${created.json().id}`;
    const any = await app.inject({ url, headers: { 'if-match': ' * ' } });
    expect([any.statusCode, any.body]).toEqual([200, created.body]);
    for (const ifMatch of ['"abc"', `"${created.json().id}"`, 'W/"abc"']) {
      const response = await app.inject({ url, headers: { 'if-match': ifMatch } });
      expect([response.statusCode, response.json().code], ifMatch).toEqual([412, 'precondition-failed']);
      expect(responseProblems('GET', url, 412, String(response.headers['content-type']), response.body)).toEqual([]);
    }
    const unknown = await app.inject({ url: '/v1/assessments/00000000-0000-4000-8000-000000000404', headers: { 'if-match': '"abc"' } });
    expect(unknown.statusCode).toBe(404);
  });

  // RFC 9110, 13.1.1. Guards against: a POST made conditional with If-Match stored its submission
  // all the same, though what it would make has no current representation to match.
  it('refuses a submission, a preview or a batch with If-Match 412, and stores nothing', async () => {
    const before = app.repository.countAssessments();
    for (const [url, payload, detail] of [
      ['/v1/assessments', submission(20), 'A submission makes a new assessment, which no If-Match can match: send it without one.'],
      ['/v1/assessments/preview', submission(21), 'A preview stores nothing, so no If-Match can match it: send it without one.'],
      [
        '/v1/assessments/batch',
        { items: [submission(22)] },
        'A batch makes new assessments, which no If-Match can match: send it without one.',
      ],
    ] as const) {
      for (const ifMatch of ['*', '"abc"']) {
        const response = await injectPost(app, url, payload, { 'if-match': ifMatch });
        expect([response.statusCode, response.json().code], `${url} ${ifMatch}`).toEqual([412, 'precondition-failed']);
        // Each route says what it would make: a preview was told it would make an assessment.
        expect(response.json().detail).toBe(detail);
        expect(responseProblems('POST', url, 412, String(response.headers['content-type']), response.body)).toEqual([]);
      }
    }
    expect(app.repository.countAssessments()).toBe(before);
  });

  // RFC 9110, 13.2.1: a request refused without its preconditions, before its content is processed,
  // gets that refusal. Guards against: every POST with If-Match answered 412 first, so that a client
  // sending text/plain, a body over the limit, broken JSON, a malformed Idempotency-Key or an unknown
  // query parameter was told about the If-Match instead of what was wrong with its request.
  it('answers a POST with If-Match what its media type, size, JSON, key or query earn before the 412', async () => {
    const before = app.repository.countAssessments();
    const huge = JSON.stringify({ answers: [], respondent: 'x'.repeat(300 * 1024) });
    for (const [url, payload] of [
      ['/v1/assessments', JSON.stringify(submission(23))],
      ['/v1/assessments/preview', JSON.stringify(submission(24))],
      ['/v1/assessments/batch', JSON.stringify({ items: [submission(25)] })],
    ] as const) {
      const cases: [string, Record<string, string>, string, number, string][] = [
        ['text/plain', { 'content-type': 'text/plain' }, payload, 415, 'unsupported-media-type'],
        ['broken JSON', {}, payload.slice(0, -1), 400, 'malformed-body'],
        ['unknown query parameter', {}, payload, 400, 'validation-error'],
      ];
      if (!url.endsWith('/batch')) cases.push(['a body over the limit', {}, huge, 413, 'payload-too-large']);
      if (!url.endsWith('/preview')) cases.push(['a malformed key', { 'idempotency-key': 'a b' }, payload, 400, 'validation-error']);
      for (const [what, headers, body, status, code] of cases) {
        const response = await app.inject({
          method: 'POST',
          url: what === 'unknown query parameter' ? `${url}?colour=red` : url,
          headers: { 'content-type': 'application/json', 'if-match': '*', ...headers },
          payload: body,
        });
        expect([response.statusCode, response.json().code], `${url}: ${what}`).toEqual([status, code]);
      }
      // Nothing else wrong: the If-Match is what is refused.
      const refused = await app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', 'if-match': '*' },
        payload,
      });
      expect(refused.statusCode, url).toBe(412);
    }
    expect(app.repository.countAssessments()).toBe(before);
  });

  it('answers If-None-Match: * with 304 for a document kept gzip-compressed, varying on Accept-Encoding', async () => {
    const created = await post(app, submission(8));
    const compressedId = '00000000-0000-4000-8000-00000000c0df';
    const json = created.body.replace(created.json().id, compressedId);
    const gzip = gzipSync(json, { level: 3 });
    app.repository.sqlite
      .prepare(
        `insert into assessments (id, created_at, document, instrument_version, scoring_version, kb_release)
         values (?, ?, ?, 'i', 's', 'k')`,
      )
      .run(compressedId, created.json().createdAt, gzip);
    const url = `/v1/assessments/${compressedId}`;
    for (const [acceptEncoding, length] of [
      ['gzip', gzip.length],
      ['identity', Buffer.byteLength(json)],
    ] as const) {
      const headers = { 'if-none-match': '*', 'accept-encoding': acceptEncoding };
      const response = await app.inject({ url, headers });
      expect(response.statusCode, acceptEncoding).toBe(304);
      expect(response.rawPayload.length).toBe(0);
      expect(response.headers['content-encoding']).toBeUndefined();
      expect(String(response.headers.vary).toLowerCase()).toContain('accept-encoding');
      const head = await app.inject({ method: 'HEAD', url, headers });
      expect(head.statusCode, acceptEncoding).toBe(304);
      expect(head.headers['content-length'], acceptEncoding).toBe(String(length));
    }
  });

  it("keeps the Idempotency-Key each assessment came with: its own, its batch's, or null", async () => {
    const single = await post(app, submission(9), { 'idempotency-key': 'key-single-9' });
    expect(single.statusCode).toBe(201);
    expect(single.json().idempotencyKey).toBe('key-single-9');
    expect(Object.keys(single.json())).toEqual(['id', 'createdAt', 'companySize', 'respondent', 'idempotencyKey', 'answers', 'result']);
    const replay = await post(app, submission(9), { 'idempotency-key': 'key-single-9' });
    expect(replay.body).toBe(single.body);
    expect((await post(app, submission(10))).json().idempotencyKey).toBeNull();
    const batch = await injectPost(
      app,
      '/v1/assessments/batch',
      { items: [submission(11), submission(12)] },
      { 'idempotency-key': 'key-batch' },
    );
    expect(batch.statusCode).toBe(200);
    const items = batch.json().items as { assessment: { id: string; idempotencyKey: string } }[];
    expect(items.map((item) => item.assessment.idempotencyKey)).toEqual(['key-batch', 'key-batch']);
    for (const { assessment } of items) {
      const read = await app.inject(`/v1/assessments/${assessment.id}`);
      expect(read.json().idempotencyKey).toBe('key-batch');
      expect(responseProblems('GET', `/v1/assessments/${assessment.id}`, 200, String(read.headers['content-type']), read.body)).toEqual([]);
    }
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
      // As those rows were first sent: without the idempotencyKey field, which came later.
      const { idempotencyKey, ...sentThen } = created;
      expect(idempotencyKey).toBeNull();
      expect(response.json()).toEqual({ ...sentThen, id: legacyId });
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

describe('upgrading an older database', () => {
  const temp = new TempDirs();
  afterAll(() => temp.cleanup());

  /** A new database file migrated only as far as the first `count` migrations. */
  const migratedTo = (count: number) => {
    const dir = temp.make('rc-upgrade-');
    const firstOnly = join(dir, 'migrations');
    cpSync(migrationsFolder, firstOnly, { recursive: true });
    const journalPath = join(firstOnly, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
    writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, count) }));
    const databasePath = join(dir, 'old.sqlite');
    const old = new Database(databasePath);
    migrate(drizzle({ client: old }), { migrationsFolder: firstOnly });
    return { databasePath, old };
  };

  it('keeps every assessment stored before documents, readable as it was scored', async () => {
    // A database migrated only as far as the first migration, holding one assessment of that time.
    const { databasePath, old } = migratedTo(1);
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

  it('keeps assessments stored with random UUIDs readable, and numbers the new ones', async () => {
    // Migrated as far as documents, before ids encoded rows: one stored assessment with a random UUID.
    const { databasePath, old } = migratedTo(2);
    const legacyId = '9b2e4c1a-5d3f-4e6b-8a7c-0d1e2f3a4b5c';
    const document = `{"id":"${legacyId}","createdAt":"2026-11-20T10:00:00.000Z","companySize":null,"respondent":"uuid","answers":[],"result":{}}`;
    old
      .prepare(
        `insert into assessments (id, created_at, document, instrument_version, scoring_version, kb_release)
         values (?, '2026-11-20T10:00:00.000Z', ?, 'i0', 's0', 'k0')`,
      )
      .run(legacyId, document);
    old.close();

    const upgraded = await buildTestApp({ databasePath });
    try {
      expect((await upgraded.inject({ url: `/v1/assessments/${legacyId}` })).body).toBe(document);
      const created = await post(upgraded, submission(5));
      expect(created.statusCode).toBe(201);
      expect((await upgraded.inject({ url: String(created.headers.location) })).body).toBe(created.body);
      const sqlite = upgraded.repository.sqlite;
      expect(sqlite.prepare('select count(*) from assessments').pluck().get()).toBe(1);
      expect(sqlite.prepare('select count(*) from assessment_documents').pluck().get()).toBe(1);
      expect(upgraded.repository.countAssessments()).toBe(2);
    } finally {
      await upgraded.close();
    }
  });
});

describe('page size and page cache', () => {
  const temp = new TempDirs();
  afterAll(() => temp.cleanup());

  const storesAndReads = async (app: App) => {
    const created = await post(app, submission(7));
    expect(created.statusCode).toBe(201);
    const read = await app.inject({ url: String(created.headers.location) });
    expect(read.body).toBe(created.body);
  };

  it('creates a new database with 8 KiB pages', async () => {
    const app = await buildTestApp({ databasePath: join(temp.make('rc-pages-'), 'new.sqlite') });
    try {
      expect(app.repository.sqlite.pragma('page_size', { simple: true })).toBe(PAGE_SIZE);
      expect(PAGE_SIZE).toBe(8192);
      await storesAndReads(app);
    } finally {
      await app.close();
    }
  });

  it('gives the connection a page cache of DEFAULT_CACHE_MB or the size asked for, and no memory map', async () => {
    for (const [databaseCacheMb, kib] of [
      [undefined, DEFAULT_CACHE_MB * 1024],
      [8, 8192],
    ] as const) {
      const app = await buildTestApp({ databasePath: join(temp.make('rc-cache-'), 'kb.sqlite'), databaseCacheMb });
      try {
        expect(app.repository.sqlite.pragma('cache_size', { simple: true })).toBe(-kib);
        expect(app.repository.sqlite.pragma('mmap_size', { simple: true })).toBe(0);
        await storesAndReads(app);
      } finally {
        await app.close();
      }
    }
    expect(DEFAULT_CACHE_MB).toBe(16);
  });

  it('refuses a page cache that is not a whole number of MiB from 1', () => {
    for (const cacheMb of [0, -1, 1.5, Number.NaN]) {
      const path = join(temp.make('rc-cache-'), 'kb.sqlite');
      expect(() => openDatabase(path, { cacheMb })).toThrow(/cacheMb must be a whole number/);
      expect(existsSync(path)).toBe(false);
    }
  });

  it('keeps the page size of a database created with 4 KiB pages, and stores and reads in it', async () => {
    const databasePath = join(temp.make('rc-pages-'), 'old-pages.sqlite');
    const old = new Database(databasePath);
    old.pragma('page_size = 4096');
    old.pragma('journal_mode = WAL');
    migrate(drizzle({ client: old }), { migrationsFolder });
    old.close();
    const app = await buildTestApp({ databasePath });
    try {
      expect(app.repository.sqlite.pragma('page_size', { simple: true })).toBe(4096);
      await storesAndReads(app);
    } finally {
      await app.close();
    }
  });
});
