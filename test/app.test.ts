import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type App, buildApp } from '../src/app.js';
import { loadContent } from '../src/content/load.js';
import { SCORING_VERSION } from '../src/domain/scoring.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed } from './support/fixtures.js';

const raw = readRawSeed();
const rawEntries = [...raw.expectations, ...raw.variants];

const PROBLEM_KEYS = ['type', 'title', 'status', 'detail', 'requestId'];

/** Asserts that a response is an RFC 9457 problem with the given status, and returns its body. */
function expectProblem(response: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number) {
  expect(response.statusCode).toBe(status);
  expect(String(response.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(response.body);
  for (const key of PROBLEM_KEYS) expect(body, key).toHaveProperty(key);
  expect(body.status).toBe(status);
  expect(body.requestId).toBe(response.headers['x-request-id']);
  expect(body).not.toHaveProperty('stack');
  expect(response.body).not.toMatch(/\bat .+\.(?:ts|js):\d+/);
  return body;
}

describe('the app', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('GET /health answers ok', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
    // A probe's answer must not be kept by a cache (from a caching review).
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('GET /ready answers ready with the database and migrations checked', async () => {
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { database: true, migrations: true, storage: true, underPressure: false } });
    expect(response.headers['cache-control']).toBe('no-store');
  });

  // Guards against (from a review): the root answered 404 with nothing to say where the API starts.
  it('GET / names the API and links to where each part of it starts, every link a path the API answers', async () => {
    const response = await app.inject('/');
    expect(response.statusCode).toBe(200);
    expect(response.headers.etag).toMatch(new RegExp(`^"${raw.release}-`));
    const body = response.json() as {
      name: string;
      apiVersion: string;
      kbRelease: string;
      links: Record<string, { href: string; title: string }>;
    };
    expect([body.name, body.kbRelease, body.apiVersion]).toEqual([
      'Role Competency API',
      raw.release,
      (await app.inject('/v1/meta')).json().apiVersion,
    ]);
    const hrefs = Object.values(body.links).map((link) => link.href);
    expect(hrefs).toEqual(expect.arrayContaining(['/docs', '/openapi.json', '/v1/meta', '/v1/roles', '/v1/assessments', '/problems']));
    for (const href of hrefs) {
      // A route for some method: a GET answers (a comparison without roles is a 400 saying so), or the path takes POST only.
      const answer = await app.inject(href);
      expect([href, answer.statusCode === 405 ? answer.headers.allow : answer.statusCode]).toEqual([
        href,
        href === '/v1/assessments' ? 'POST, OPTIONS' : href === '/v1/comparisons' ? 400 : 200,
      ]);
    }
    expect((await app.inject({ url: '/', headers: { 'if-none-match': String(response.headers.etag) } })).statusCode).toBe(304);
  });

  it('GET /v1/meta reports the seed release, a content hash and counts derived from the seed files', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/meta' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = response.json();
    expect(body.kbRelease).toBe(raw.release);
    expect(body.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(body.instrumentVersion).toBe(raw.questions.instrumentVersion);
    // DESIGN.md lists the scoring version among /v1/meta's versions (it was missing).
    expect(body.scoringVersion).toBe(SCORING_VERSION);
    expect(typeof body.apiVersion).toBe('string');
    expect(body.counts).toEqual({
      roles: raw.roles.length,
      competencies: raw.competencies.length,
      companySizes: raw.companySizes.length,
      expectations: raw.roles.length * raw.competencies.length,
      variants: raw.variants.length,
      citations: rawEntries.reduce((n, e) => n + (e.citations?.length ?? 0), 0),
      editorialEntries: rawEntries.filter((e) => e.editorial === true).length,
      questions: raw.questions.questions.length,
      sources: raw.sources.length,
    });
  });

  it('GET /v1/meta gives the level scale, and every level the API serves is on it', async () => {
    const { levelScale } = (await app.inject('/v1/meta')).json() as { levelScale: { level: number; name: string; meaning: string }[] };
    expect(levelScale.map(({ level, name }) => `${level} ${name}`)).toEqual([
      '0 none',
      '1 occasional',
      '2 regular',
      '3 core',
      '4 defining',
    ]);
    for (const { meaning } of levelScale) expect(meaning.length).toBeGreaterThan(10);
    const levels = new Set(levelScale.map((entry) => entry.level));
    const exported = (await app.inject('/v1/exports/knowledge-base')).json();
    expect(exported.levelScale).toEqual(levelScale);
    for (const expectation of exported.expectations as { level: number; variants: { level: number }[] }[]) {
      for (const level of [expectation.level, ...expectation.variants.map((v) => v.level)]) expect(levels.has(level)).toBe(true);
    }
  });

  it('GET /v1/meta reports the content hash of the seed files, as loaded apart from the app', async () => {
    const body = (await app.inject({ method: 'GET', url: '/v1/meta' })).json();
    expect(body.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(body.contentHash).toBe(loadContent().contentHash);
  });

  it('answers an unknown route with a 404 problem', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' });
    const body = expectProblem(response, 404);
    expect(body.title).toBe('Not Found');
    expect(body.detail).toContain('/v1/nothing-here');
    expect(body.instance).toBe('/v1/nothing-here');
  });

  it('answers a malformed JSON POST to an unknown route with a problem', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/nothing-here',
      headers: { 'content-type': 'application/json' },
      payload: '{"answers": [',
    });
    expect([400, 404]).toContain(response.statusCode);
    expectProblem(response, response.statusCode);
  });

  it('sends security headers, a request id and CORS headers', async () => {
    for (const url of ['/health', '/v1/meta', '/v1/nothing-here']) {
      const response = await app.inject({ method: 'GET', url, headers: { origin: 'https://tools.example' } });
      expect(response.headers['x-content-type-options'], url).toBe('nosniff');
      expect(response.headers['x-frame-options'], url).toBeDefined();
      expect(response.headers['content-security-policy'], url).toContain("default-src 'none'");
      expect(response.headers['content-security-policy'], url).toContain("frame-ancestors 'none'");
      expect(response.headers['strict-transport-security'], url).toContain('max-age=');
      expect(response.headers['referrer-policy'], url).toBe('no-referrer');
      expect(response.headers['x-request-id'], url).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers['access-control-allow-origin'], url).toBe('*');
    }
  });

  it('lets the docs page run its own scripts and styles, from this origin only', async () => {
    const response = await app.inject('/docs/');
    const csp = response.headers['content-security-policy'] as string;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it('gives every request its own id, and ignores one sent by the client', async () => {
    const a = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'client-chosen' } });
    const b = await app.inject({ method: 'GET', url: '/health' });
    expect(a.headers['x-request-id']).not.toBe('client-chosen');
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });

  describe('over real HTTP (supertest)', () => {
    it('GET /health', async () => {
      const response = await request(app.server).get('/health').expect(200);
      expect(response.body).toEqual({ status: 'ok' });
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    });

    it('GET /v1/meta', async () => {
      const response = await request(app.server)
        .get('/v1/meta')
        .expect(200)
        .expect('content-type', /application\/json/);
      expect(response.body.kbRelease).toBe(raw.release);
      expect(response.body.counts.expectations).toBe(raw.roles.length * raw.competencies.length);
    });

    it('GET an unknown route', async () => {
      const response = await request(app.server)
        .get('/v1/unknown')
        .expect(404)
        .expect('content-type', /application\/problem\+json/);
      expect(JSON.parse(response.text)).toMatchObject({ status: 404, title: 'Not Found' });
    });
  });
});

describe('the error handler', () => {
  let app: App;
  const logLines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        callback();
      },
    });
    app = await buildApp({ databasePath: ':memory:', logger: { level: 'error', stream } });
    // Routes that exist only in this test, to reach the error handler the way real routes will.
    app.post('/test/echo', async (req) => ({ received: req.body }));
    app.get('/test/boom', async () => {
      throw new Error('secret internal detail: password=hunter2');
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers malformed JSON on a known route with a 400 problem', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"answers": [',
    });
    const body = expectProblem(response, 400);
    expect(body.code).toBe('malformed-body');
    expect(body.detail).toBe(
      'The body is not valid JSON: it goes wrong at line 1, column 14, where the body ends and JSON needs ' +
        'a value: a string in double quotes, a number, an object, an array, true, false or null, or `]`.',
    );
  });

  // Guards against: "The body is not valid JSON." alone, which leaves a body written by hand to be
  // searched for its stray comma, and against a place without what is wrong there.
  const value = 'a value: a string in double quotes, a number, an object, an array, true, false or null';
  it.each([
    [
      '/v1/assessments',
      '{\n  "answers": [\n    {"questionId": "q", "value": 3},\n  ]\n}',
      `line 4, column 3, where it has \`]\` and JSON needs ${value}`,
    ],
    ['/v1/assessments/preview', '\ufeff{"answers": [1,, 2]}', `line 1, column 16, where it has \`,\` and JSON needs ${value}`],
    ['/v1/assessments/batch', '{"items": [{"answers": tru}]}', 'line 1, column 27, where it has `}` and JSON needs `true`'],
    ['/v1/assessments', "{'answers': []}", "line 1, column 2, where it has `'` and JSON needs a member name in double quotes, or `}`"],
  ])('tells %s where a body stops being JSON, and what it needs there', async (url, payload, at) => {
    const response = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });
    expect(expectProblem(response, 400)).toMatchObject({
      code: 'malformed-body',
      detail: `The body is not valid JSON: it goes wrong at ${at}.`,
    });
  });

  it('answers an empty JSON body with a 400 problem', async () => {
    const response = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: '' });
    const body = expectProblem(response, 400);
    // Guards against: Fastify's own wording ("Body cannot be empty when content-type is set to ...").
    expect(body).toMatchObject({ code: 'malformed-body', detail: 'The body is empty: this operation takes a JSON body.' });
  });

  it('answers an unsupported media type with a 415 problem', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expectProblem(response, 415);
  });

  it('answers an oversized body with a 413 problem', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ padding: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expectProblem(response, 413);
  });

  it('still accepts a well-formed body', async () => {
    const response = await app.inject({ method: 'POST', url: '/test/echo', payload: { a: 1 } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ received: { a: 1 } });
  });

  it('hides the details of a 500 from the client and logs it with the request id', async () => {
    const response = await app.inject({ method: 'GET', url: '/test/boom' });
    const body = expectProblem(response, 500);
    expect(response.body).not.toContain('hunter2');
    expect(response.body).not.toContain('secret');
    const logged = logLines.find((line) => line.requestId === body.requestId);
    expect(logged, 'a log line with the request id').toBeDefined();
    expect(JSON.stringify(logged)).toContain('secret internal detail');
  });
});

describe('readiness', () => {
  it('answers 503 not-ready when the database is gone', async () => {
    const app = await buildTestApp();
    try {
      app.repository.sqlite.close();
      const response = await app.inject({ method: 'GET', url: '/ready' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ status: 'not-ready', checks: { database: false } });
      // Liveness does not depend on the database.
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('a start that fails part-way', () => {
  it('closes the database, its -wal and the checkpoint worker it had opened', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'rc-failed-start-'));
    const databasePath = join(folder, 'kb.sqlite');
    const openFiles = () =>
      readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          return target.startsWith(folder) ? [target] : [];
        } catch {
          return [];
        }
      });
    try {
      // A body limit Fastify refuses when the routes register, after the database was opened.
      await expect(buildApp({ databasePath, batchBodyLimit: 1.5 })).rejects.toThrow();
      // Guards against: the rejected build left kb.sqlite, -wal and -shm open (twice over, with the
      // checkpoint worker's connection) in a process that goes on, such as a test run or a supervisor.
      await vi.waitFor(() => expect(openFiles()).toEqual([]), { timeout: 5000 });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  // Guards against (from an operator's walk through the README): the warning for a misspelt setting
  // came after the start, so the default database it left in force was created and migrated first,
  // and a start that failed there never gave it.
  it('warns of a misspelt setting before it opens the database', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'rc-misspelt-'));
    const lines: { msg: string; variable?: string }[] = [];
    try {
      const notAFolder = join(folder, 'a-file');
      writeFileSync(notAFolder, '');
      const start = buildApp({
        databasePath: join(notAFolder, 'kb.sqlite'),
        misspeltSettings: [{ variable: 'DATABSE_PATH', setting: 'DATABASE_PATH' }],
        logger: { level: 'warn', stream: { write: (line: string) => lines.push(JSON.parse(line)) } },
      });
      await expect(start).rejects.toThrow();
      expect(lines[0]).toMatchObject({
        variable: 'DATABSE_PATH',
        msg: 'DATABSE_PATH is not a setting and is ignored: did you mean DATABASE_PATH?',
      });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
