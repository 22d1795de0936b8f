// A problem's `type` is a link: GET it and learn what the problem means. Every code the API can
// answer with is in the catalogue (the compiler holds errors to it); these tests hold the served
// documents to the catalogue and to the problems real requests get.
import { gzipSync } from 'node:zlib';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { PROBLEM_TYPES, problemTitle } from '../src/problem-types.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed } from './support/fixtures.js';
import { getDocumented } from './support/openapi.js';

let app: App;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

type Document = { type: string; code: string; title: string; status: number | null; description: string };
const QUESTIONS = readRawSeed().questions.questions;
const submission = (answers = QUESTIONS) => JSON.stringify({ answers: answers.map((q) => ({ questionId: q.id, value: 3 })) });
const json = { 'content-type': 'application/json' };

describe('problemTitle', () => {
  // Each code carries its status in the catalogue, and the code that raises it names a status too.
  // Guards against: the two could differ unnoticed, sending (say) a 422 whose type and title are a 400's.
  it('refuses a status other than the one its code is catalogued with', () => {
    expect(problemTitle('not-found', 404)).toBe('Not Found');
    expect(() => problemTitle('not-found', 400)).toThrow(/not-found is catalogued with status 404, raised with 400/);
    // The one kind whose status varies takes the status's reason phrase.
    expect(problemTitle('bad-request', 418)).toBe("I'm a Teapot");
  });
});

describe('problem types', () => {
  it('serves every catalogued code at /problems/{code}, as GET /problems lists them', async () => {
    const listed = await getDocumented(app, '/problems?limit=200');
    expect(listed.statusCode).toBe(200);
    const items = (listed.json() as { items: Document[] }).items;
    expect(items.map((d) => d.code)).toEqual(Object.keys(PROBLEM_TYPES));
    // In status order, as a reader scans for one (the framework's own client errors, of no one status, with the 400s).
    const statuses = items.map((d) => (d as { status: number | null }).status ?? 400);
    expect(statuses).toEqual([...statuses].sort((a, b) => a - b));
    for (const item of items) {
      const served = await getDocumented(app, item.type);
      expect(served.statusCode, item.type).toBe(200);
      expect(served.json()).toEqual({ ...item, type: `/problems/${item.code}` });
      expect(item.description.length).toBeGreaterThan(20);
    }
  });

  it('answers an unknown code 404, naming it', async () => {
    const response = await getDocumented(app, '/problems/teapot');
    expect(response.statusCode).toBe(404);
    expect(response.json().errors).toEqual([{ field: 'params.code', message: 'unknown problem type "teapot"' }]);
  });

  // Guards against: a code looked up unlike the knowledge base's slugs, so that a typo was a bare 404
  // and capitals a 404 too, where a role or a company size is told the slug it names.
  it('tells a misspelt code the nearest one, and one in capitals or with spaces its lowercase slug', async () => {
    const misspelt = await getDocumented(app, '/problems/validation-eror');
    expect([misspelt.statusCode, misspelt.json().errors]).toEqual([
      404,
      [{ field: 'params.code', message: 'unknown problem type "validation-eror"; did you mean validation-error?' }],
    ]);
    for (const [sent, meant] of [
      ['Validation-Error', '; did you mean validation-error?'],
      ['%20not-found', '; did you mean not-found?'],
      ['NOT_FOUND', ''],
    ]) {
      const refused = await getDocumented(app, `/problems/${sent}`);
      expect([refused.statusCode, refused.json().errors], sent).toEqual([
        400,
        [{ field: 'params.code', message: `must be a lowercase slug: letters, digits and single hyphens${meant}` }],
      ]);
    }
  });

  it.each([
    ['an unknown route', { url: '/v1/nothing' }],
    ['an unknown role', { url: '/v1/roles/cto' }],
    ['a malformed query', { url: '/v1/roles?limit=0' }],
    ['broken percent-encoding', { url: '/v1/roles/%E0%A4%A' }],
    ['a body that is not JSON', { method: 'POST', url: '/v1/assessments', headers: json, payload: '{' }],
    ['a __proto__ key', { method: 'POST', url: '/v1/assessments', headers: json, payload: '{"__proto__":{}}' }],
    [
      'a compressed body',
      { method: 'POST', url: '/v1/assessments', headers: { ...json, 'content-encoding': 'gzip' }, payload: gzipSync('{}') },
    ],
    [
      'a charset other than UTF-8',
      { method: 'POST', url: '/v1/assessments', headers: { 'content-type': 'application/json; charset=latin1' }, payload: '{}' },
    ],
    ['a text body', { method: 'POST', url: '/v1/assessments', headers: { 'content-type': 'text/plain' }, payload: 'hi' }],
    ['too few answers', { method: 'POST', url: '/v1/assessments', headers: json, payload: submission(QUESTIONS.slice(0, 3)) }],
  ] as const)('links %s to a document of its code, status and title', async (_, request) => {
    const response = await app.inject(request as InjectOptions);
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    const problem = response.json() as { type: string; code: string; status: number; title: string };
    const document = (await app.inject(problem.type)).json() as Document;
    expect(document.code).toBe(problem.code);
    expect(document.status ?? problem.status).toBe(problem.status);
    if (document.status !== null) expect(document.title).toBe(problem.title);
  });

  it('links a reused Idempotency-Key to its own document', async () => {
    const headers = { ...json, 'idempotency-key': 'problem-types-1' };
    expect((await app.inject({ method: 'POST', url: '/v1/assessments', headers, payload: submission() })).statusCode).toBe(201);
    const reused = await app.inject({ method: 'POST', url: '/v1/assessments', headers, payload: submission(QUESTIONS.slice(1)) });
    const problem = reused.json() as { type: string; code: string };
    expect(problem.code).toBe('idempotency-key-reused');
    expect((await app.inject(problem.type)).json()).toMatchObject({ code: 'idempotency-key-reused', status: 422 });
  });
});
