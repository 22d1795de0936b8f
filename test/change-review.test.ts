// Edge cases of the request-body, query, CORS and migration changes of 2026-12-02 (a9b6bfb..),
// including four a review found wrong and that are fixed since ("Guards against" below).
import { request as httpRequest } from 'node:http';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { migrationState, openDatabase } from '../src/db/client.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed, TempDirs } from './support/fixtures.js';
import { listenLocally } from './support/http.js';
import { responseProblems } from './support/openapi.js';

const QUESTIONS = readRawSeed().questions.questions;
const submission = (seed: number, extra: Record<string, unknown> = {}) => ({
  answers: QUESTIONS.map((q, i) => ({ questionId: q.id, value: ((i * 3 + seed) % 5) + 1 })),
  ...extra,
});

const temp = new TempDirs();
let app: App;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
  temp.cleanup();
});

const post = (url: string, payload: string | Buffer, contentType = 'application/json', headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers: { 'content-type': contentType, ...headers }, payload });

const messagesOf = (body: { errors?: { field: string; message: string }[] }) => body.errors ?? [];

describe('body decoding: what holds', () => {
  it('reads a body whose chunks split a multi-byte character, over real HTTP', async () => {
    const listening = await buildTestApp();
    try {
      const { port } = await listenLocally(listening);
      const bytes = Buffer.from(JSON.stringify(submission(1, { respondent: 'Zoë Ünal 😀' })), 'utf8');
      const cut = bytes.indexOf(Buffer.from('ë')) + 1; // inside the two bytes of ë
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          { port, host: '127.0.0.1', method: 'POST', path: '/v1/assessments', headers: { 'content-type': 'application/json' } },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d) => {
              body += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.write(bytes.subarray(0, cut));
        setTimeout(() => req.end(bytes.subarray(cut)), 50);
      });
      expect(answer.status).toBe(201);
      expect(JSON.parse(answer.body).respondent).toBe('Zoë Ünal 😀');
    } finally {
      await listening.close();
    }
  });

  it('never hands application/problem+json or application/json-patch+json to the JSON parser: a 415 media-type problem', async () => {
    for (const type of ['application/problem+json', 'application/json-patch+json', 'application/jsonx']) {
      const response = await post('/v1/assessments/preview', JSON.stringify(submission(2)), type);
      expect(response.statusCode, type).toBe(415);
      expect(response.json().code, type).toBe('unsupported-media-type');
    }
  });

  it('takes one UTF-8 byte-order mark, refuses UTF-16 and an empty body as 400 malformed-body', async () => {
    const json = JSON.stringify(submission(3));
    const bom = await post('/v1/assessments/preview', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]));
    expect(bom.statusCode).toBe(200);
    const utf16 = await post('/v1/assessments/preview', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(json, 'utf16le')]));
    expect(utf16.statusCode).toBe(400);
    expect(utf16.json().code).toBe('malformed-body');
    const empty = await post('/v1/assessments/preview', '', 'application/json; charset=utf-8');
    expect(empty.statusCode).toBe(400);
    expect(empty.json().code).toBe('malformed-body');
  });

  it('reads the charset case- and quote-insensitively, refuses others with 415, and checks Content-Encoding first', async () => {
    const json = JSON.stringify(submission(4));
    for (const type of ['application/json;charset="UTF-8"', 'application/json; CHARSET=utf8', 'APPLICATION/JSON ; charset=us-ascii']) {
      expect((await post('/v1/assessments/preview', json, type)).statusCode, type).toBe(200);
    }
    const utf16 = await post('/v1/assessments/preview', json, 'application/json; charset=utf-16');
    expect(utf16.statusCode).toBe(415);
    expect(utf16.json()).toMatchObject({ code: 'unsupported-charset', detail: expect.stringContaining('not utf-16') });
    const coded = await post('/v1/assessments/preview', json, 'application/json; charset=latin1', { 'content-encoding': 'gzip' });
    expect(coded.json().code).toBe('unsupported-content-encoding');
  });

  it('refuses a lone surrogate in one batch item only, and keeps a well-formed pair', async () => {
    const body = JSON.stringify({ items: [submission(5, { respondent: 'a\ud800' }), submission(6, { respondent: 'b😀' })] });
    const response = await post('/v1/assessments/batch', body);
    expect(response.statusCode).toBe(200);
    const [bad, good] = response.json().items;
    expect(bad.status).toBe(400);
    expect(bad.problem.errors.map((e: { field: string }) => e.field)).toEqual(['body.items[0].respondent']);
    expect(good.status).toBe(201);
    expect(good.assessment.respondent).toBe('b😀');
  });

  // Guards against: a UTF-8 decoder that stripped one byte-order mark before the JSON parser
  // stripped another, so a body starting with two (not JSON) was taken.
  it('refuses a body that starts with two byte-order marks', async () => {
    const twice = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(submission(7)))]);
    const response = await post('/v1/assessments/preview', twice);
    expect(response.statusCode).toBe(400);
  });

  // Guards against: a charset with no closing quote read as if it had one (`"utf-8` was told "not
  // utf-"), an empty one told "not : ", and a second charset ignored (`charset=utf-8; charset=latin1`
  // taken as UTF-8).
  it.each([
    ['application/json; charset="utf-8', 'JSON bodies are read as UTF-8, not "utf-8: '],
    ['application/json; charset=', 'Content-Type names an empty charset: '],
    ['application/json; charset=utf-8; charset=latin1', 'Content-Type names more than one charset ("utf-8", "latin1"): '],
    // An escaped quote closes nothing: the value is read as sent (from a second review).
    ['application/json; charset="utf-8\\"', 'JSON bodies are read as UTF-8, not "utf-8\\": '],
  ])('refuses %s with 415, saying what it read', async (type, detail) => {
    const response = await post('/v1/assessments/preview', JSON.stringify(submission(9)), type);
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ code: 'unsupported-charset', detail: expect.stringContaining(detail) });
  });

  it('takes charsets named twice that both read as UTF-8, and a quoted one with a backslash escape', async () => {
    for (const type of [
      'application/json; charset=utf-8; charset=UTF-8',
      'application/json; charset=utf-8; charset=utf8',
      'application/json; charset="utf\\-8"',
    ]) {
      expect((await post('/v1/assessments/preview', JSON.stringify(submission(10)), type)).statusCode, type).toBe(200);
    }
  });

  // Guards against: a charset read from inside another parameter's quoted value, which refused a
  // UTF-8 body sent with `profile="x;charset=latin1"` as latin1.
  it('ignores "charset=" inside a quoted value of another parameter', async () => {
    const response = await post('/v1/assessments/preview', JSON.stringify(submission(8)), 'application/json; profile="x;charset=latin1"');
    expect(response.statusCode).toBe(200);
  });
});

describe('query problems', () => {
  it('says "given more than once" on every route with a query, and not for a bad item of a valid list', async () => {
    for (const [url, field] of [
      ['/v1/roles?limit=5&limit=6', 'querystring.limit'],
      ['/v1/sources?offset=1&offset=1', 'querystring.offset'],
      ['/v1/company-sizes?limit=1&limit=1', 'querystring.limit'],
      ['/v1/roles/tech-lead?companySize=startup&companySize=startup', 'querystring.companySize'],
      ['/v1/comparisons/by-company-size?roles=tech-lead,engineering-manager&category=people&category=people', 'querystring.category'],
    ] as const) {
      const response = await app.inject(url);
      expect(response.statusCode, url).toBe(400);
      expect(messagesOf(response.json()), url).toEqual([{ field, message: 'is given more than once: give it once' }]);
    }
    // roles is a list, sent in one parameter: told so.
    const roles = await app.inject('/v1/comparisons?roles=tech-lead,engineering-manager&roles=tech-lead');
    expect(messagesOf(roles.json())).toEqual([
      {
        field: 'querystring.roles',
        message: 'is given more than once: give it once, the roles separated by commas (roles=tech-lead,engineering-manager)',
      },
    ]);
    const badItem = await app.inject('/v1/comparisons?roles=tech-lead,Not_A_Slug');
    expect(messagesOf(badItem.json())).toEqual([{ field: 'querystring.roles[1]', message: expect.not.stringContaining('more than once') }]);
    // A parameter a route does not declare stays "unknown parameter", repeated or not.
    expect(messagesOf((await app.inject('/health?x=1&x=2')).json())).toEqual([{ field: 'querystring.x', message: 'unknown parameter' }]);
  });

  // Guards against: a whole number of 10 digits or more, out of range, told "must be a whole number
  // in decimal digits" instead of its range.
  it('tells a 10-digit offset its range', async () => {
    const response = await app.inject('/v1/competencies?offset=1234567890');
    expect(response.statusCode).toBe(400);
    expect(messagesOf(response.json())).toEqual([{ field: 'querystring.offset', message: 'must be from 0 to 1000000' }]);
  });
});

describe('CORS on URLs the router refuses', () => {
  const preflight = {
    origin: 'https://hr.example',
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'content-type',
  };

  it('answers the preflight of a broken URL with 204 and the CORS answer of any other preflight', async () => {
    const broken = await app.inject({ method: 'OPTIONS', url: '/v1/roles/100%-lead', headers: preflight });
    const normal = await app.inject({ method: 'OPTIONS', url: '/v1/roles/tech-lead', headers: preflight });
    expect(broken.statusCode).toBe(204);
    for (const name of [
      'access-control-allow-origin',
      'access-control-allow-methods',
      'access-control-max-age',
      'access-control-allow-headers',
      'vary',
    ]) {
      expect(broken.headers[name], name).toBe(normal.headers[name]);
    }
  });

  // Guards against: the preflight of a broken URL answered before the security headers and the
  // X-Request-Id were set, unlike every other response.
  it('gives the preflight of a broken URL the security headers and X-Request-Id of every response', async () => {
    const broken = await app.inject({ method: 'OPTIONS', url: '/v1/roles/100%-lead', headers: preflight });
    expect(broken.headers['x-content-type-options']).toBe('nosniff');
    expect(broken.headers['content-security-policy']).toBeDefined();
    expect(broken.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('OpenAPI response headers against what is sent', () => {
  const doc = () =>
    app.swagger() as unknown as {
      paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, { description?: string }> }> }>>;
    };

  it('sends Location and Idempotent-Replayed on a replayed 201, Idempotent-Replayed on a replayed batch', async () => {
    const declared = Object.keys(doc().paths['/v1/assessments']?.post?.responses['201']?.headers ?? {});
    expect(declared.sort()).toEqual([
      'idempotent-replayed',
      'location',
      'vary',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
      'x-request-id',
    ]);
    const body = JSON.stringify(submission(9));
    const first = await post('/v1/assessments', body, 'application/json', { 'idempotency-key': 'review-201' });
    const again = await post('/v1/assessments', body, 'application/json', { 'idempotency-key': 'review-201' });
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.statusCode).toBe(201);
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.headers.location).toBe(`/v1/assessments/${first.json().id}`);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const batch = JSON.stringify({ items: [submission(10)] });
    await post('/v1/assessments/batch', batch, 'application/json', { 'idempotency-key': 'review-batch' });
    const replayed = await post('/v1/assessments/batch', batch, 'application/json', { 'idempotency-key': 'review-batch' });
    expect(replayed.headers['idempotent-replayed']).toBe('true');
  });

  it('documents both 503s of /ready: its own not-ready answer, which sends no Retry-After, and the shutting-down problem', async () => {
    const declared = doc().paths['/ready']?.get?.responses['503'];
    expect(declared?.headers?.['retry-after']?.description).toMatch(/shutting-down problem only/);
    const shuttingDown = {
      type: '/problems/shutting-down',
      title: 'Service Unavailable',
      status: 503,
      detail: 'The server is shutting down.',
    };
    expect(
      responseProblems(
        'GET',
        '/ready',
        503,
        'application/problem+json',
        JSON.stringify({ ...shuttingDown, instance: '/ready', code: 'shutting-down', requestId: 'r' }),
      ),
    ).toEqual([]);
    app.repository.sqlite.prepare('insert into __drizzle_migrations (hash, created_at) values (?, ?)').run('f'.repeat(64), 1799999999999);
    try {
      const ready = await app.inject('/ready');
      expect(ready.statusCode).toBe(503);
      expect(ready.headers['retry-after']).toBeUndefined();
    } finally {
      app.repository.sqlite.prepare('delete from __drizzle_migrations where created_at = ?').run(1799999999999);
    }
    expect((await app.inject('/ready')).statusCode).toBe(200);
  });
});

describe('the migration check and the write probe', () => {
  it('finds nothing missing or unknown on an in-memory database and on a file this version made, reopened', () => {
    const memory = openDatabase(':memory:');
    expect(migrationState(memory.sqlite)).toEqual({ missing: 0, unknown: [] });
    memory.sqlite.close();
    const path = `${temp.make('rc-review-')}/kb.sqlite`;
    openDatabase(path).sqlite.close();
    const again = openDatabase(path);
    try {
      expect(migrationState(again.sqlite)).toEqual({ missing: 0, unknown: [] });
      // The probe rolls back: the log the first connection's close removed holds no frame (a
      // committed probe writes the header's page to it, even with user_version unchanged).
      expect(again.sqlite.pragma('wal_checkpoint(PASSIVE)')).toEqual([{ busy: 0, log: 0, checkpointed: 0 }]);
      expect(again.sqlite.pragma('user_version', { simple: true })).toBe(0);
    } finally {
      again.sqlite.close();
    }
  });

  // Behaviour the change adds (not a README claim): the write probe takes the write lock, so a start
  // now waits for another process's write transaction and fails after busy_timeout; before the
  // change a start on an up-to-date file did not need the lock.
  it('makes a start wait for, then fail on, another connection that holds the write lock', () => {
    const path = `${temp.make('rc-review-')}/kb.sqlite`;
    openDatabase(path).sqlite.close();
    const other = new Database(path);
    other.exec('begin immediate');
    try {
      const started = performance.now();
      expect(() => openDatabase(path, { busyTimeoutMs: 300 })).toThrow(/database is locked/);
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      other.exec('rollback');
      other.close();
    }
    openDatabase(path).sqlite.close();
  });
});
