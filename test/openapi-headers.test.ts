import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/paths.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed } from './support/fixtures.js';
import { get, injectPost, listening, raw } from './support/http.js';
import { document } from './support/openapi.js';

// A typed client reads a response header marked `required` as always there, and any other as maybe
// absent. These tests hold the document to what the server sends, both ways.

type Header = { $ref?: string; required?: boolean };
type Responses = Record<string, { headers?: Record<string, Header> }>;
const paths = document.paths as Record<string, Record<string, { responses: Responses }>>;

/** The headers the document says every response of this operation and status carries. */
function requiredHeaders(path: string, method: string, status: number): string[] {
  const headers = paths[path]?.[method]?.responses[String(status)]?.headers;
  expect(headers, `${method} ${path} ${status} is documented`).toBeDefined();
  return Object.entries(headers ?? {})
    .filter(([, header]) => {
      const component = header.$ref?.split('/').pop();
      return (component === undefined ? header : (document.components.headers[component] as Header)).required === true;
    })
    .map(([name]) => name);
}

const missingFrom = (sent: Record<string, unknown>, path: string, method: string, status: number) =>
  requiredHeaders(path, method, status).filter((name) => sent[name] === undefined);

const json = { 'content-type': 'application/json' };
/** Knowledge-base reads: their operation's path, and a URL. */
const READS = [
  ['/v1/roles/{role}', '/v1/roles/tech-lead'],
  ['/v1/competencies', '/v1/competencies?category=people'],
  ['/v1/comparisons', '/v1/comparisons?roles=tech-lead,engineering-manager'],
  ['/v1/assessment/questions', '/v1/assessment/questions'],
  ['/v1/meta', '/v1/meta'],
  ['/v1/exports/levels.csv', '/v1/exports/levels.csv'],
  ['/', '/'],
] as const;
const { questions } = readRawSeed().questions;
const submission = { answers: questions.slice(0, 8).map((q, i) => ({ questionId: q.id, value: (i % 5) + 1 })) };

describe('the response headers the document marks required', () => {
  let app: Awaited<ReturnType<typeof buildTestApp>>;
  beforeAll(async () => {
    app = await buildTestApp({ rateLimit: { enabled: true, max: 3, windowMs: 60_000 } });
  });
  afterAll(async () => {
    await app.close();
  });

  // Guards against: no header was marked required, so typed clients read Location, ETag and
  // Cache-Control as maybe absent although every such response carries them.
  it('are marked where every such response carries them', () => {
    expect(requiredHeaders('/v1/roles/{role}', 'get', 200).sort()).toEqual(['cache-control', 'etag', 'x-request-id']);
    expect(requiredHeaders('/v1/roles/{role}', 'get', 304).sort()).toEqual(['cache-control', 'etag', 'x-request-id']);
    expect(requiredHeaders('/v1/assessments', 'post', 201).sort()).toEqual(['location', 'x-request-id']);
    expect(requiredHeaders('/v1/assessments/{id}', 'get', 200).sort()).toEqual(['cache-control', 'x-request-id']);
    expect(requiredHeaders('/v1/assessments', 'post', 429).sort()).toEqual(['retry-after', 'x-request-id']);
    expect(requiredHeaders('/v1/roles', 'get', 503).sort()).toEqual(['retry-after', 'x-request-id']);
    expect(requiredHeaders('/v1/exports/levels.csv', 'get', 304).sort()).toEqual([
      'cache-control',
      'content-disposition',
      'etag',
      'x-request-id',
    ]);
    expect(requiredHeaders('/health', 'get', 200).sort()).toEqual(['cache-control', 'x-request-id']);
    // Not the not-ready answer of /ready, which is no problem and says nothing of when to come back.
    expect(requiredHeaders('/ready', 'get', 503)).toEqual(['x-request-id']);
  });

  it('are sent on reads, their 304s, a stored submission and its read', async () => {
    const read = await app.inject('/v1/roles/tech-lead');
    expect(read.statusCode).toBe(200);
    expect(missingFrom(read.headers, '/v1/roles/{role}', 'get', 200)).toEqual([]);
    const again = await app.inject({ url: '/v1/roles/tech-lead', headers: { 'if-none-match': String(read.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(missingFrom(again.headers, '/v1/roles/{role}', 'get', 304)).toEqual([]);
    for (const [path, url] of READS) {
      const response = await app.inject(url);
      expect(response.statusCode, url).toBe(200);
      expect(missingFrom(response.headers, path, 'get', 200), url).toEqual([]);
    }
    const stored = await injectPost(app, '/v1/assessments', submission, { 'idempotency-key': 'headers-replayed' });
    expect(stored.statusCode).toBe(201);
    expect(missingFrom(stored.headers, '/v1/assessments', 'post', 201)).toEqual([]);
    const replayed = await injectPost(app, '/v1/assessments', submission, { 'idempotency-key': 'headers-replayed' });
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(missingFrom(replayed.headers, '/v1/assessments', 'post', 201)).toEqual([]);
    const back = await app.inject(String(stored.headers.location));
    expect(back.statusCode).toBe(200);
    expect(missingFrom(back.headers, '/v1/assessments/{id}', 'get', 200)).toEqual([]);
  });

  // The cached front answers repeated reads without Fastify, and a HEAD as its GET.
  it('are sent by the cached front of a listening server, to GET and HEAD alike', async () => {
    const server = await listening();
    try {
      for (const [path, url] of READS) {
        for (const method of ['GET', 'GET', 'HEAD']) {
          const got = await get(server.base, url, {}, method);
          expect(got.status, `${method} ${url}`).toBe(200);
          const sent = Object.fromEntries(got.headers.flatMap((value, i) => (i % 2 === 0 ? [[value.toLowerCase(), true]] : [])));
          expect(missingFrom(sent, path, 'get', 200), `${method} ${url}`).toEqual([]);
        }
      }
      expect(server.routed()).toBeLessThan(READS.length * 3);
    } finally {
      await server.app.close();
    }
  });

  it('are sent on a 429', async () => {
    let limited: Awaited<ReturnType<typeof injectPost>> | undefined;
    for (let i = 0; i < 5 && limited === undefined; i += 1) {
      const response = await injectPost(app, '/v1/assessments/preview', {}, {}, '192.0.2.7');
      if (response.statusCode === 429) limited = response;
    }
    expect(limited?.statusCode).toBe(429);
    expect(missingFrom(limited?.headers ?? {}, '/v1/assessments/preview', 'post', 429)).toEqual([]);
  });

  // Guards against: the client types made Vary and X-RateLimit-* always present (a referenced header
  // counts as required there), though a problem answered before routing has no Vary and a write has
  // no rate-limit headers while the limit is off.
  it('leave out what some such responses do not carry', async () => {
    const server = await listening();
    try {
      const answer = await raw(Number(new URL(server.base).port), 'GET /v1/roles HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n');
      expect(answer).toMatch(/^HTTP\/1\.1 400/);
      const head = answer.slice(0, answer.indexOf('\r\n\r\n')).toLowerCase();
      expect(head).not.toContain('\r\nvary:');
      const sent = Object.fromEntries(
        head
          .split('\r\n')
          .slice(1)
          .map((line) => [line.slice(0, line.indexOf(':')), line]),
      );
      expect(missingFrom(sent, '/v1/roles', 'get', 400)).toEqual([]);
    } finally {
      await server.app.close();
    }
    const unlimited = await buildTestApp({ rateLimit: { enabled: false, max: 1, windowMs: 1000 } });
    try {
      const response = await unlimited.inject({ method: 'POST', url: '/v1/assessments/preview', headers: json, payload: '{"answers":[]}' });
      expect(response.statusCode).toBe(400);
      expect(response.headers['x-ratelimit-limit']).toBeUndefined();
      expect(missingFrom(response.headers, '/v1/assessments/preview', 'post', 400)).toEqual([]);
    } finally {
      await unlimited.close();
    }
  });

  it('are typed as always present in the committed client types, and Vary and X-RateLimit-* as maybe absent', () => {
    const types = readFileSync(join(projectRoot, 'openapi', 'api.d.ts'), 'utf8');
    // The 201 of a submission: Location always, the rate limit's count and Vary maybe.
    const created = types.slice(types.indexOf('createAssessment: {'));
    const headers = created.slice(created.indexOf('201: {'), created.indexOf('content:', created.indexOf('201: {')));
    expect(headers).toMatch(/\blocation: string;/);
    expect(headers).toMatch(/"x-request-id": string;/);
    expect(headers).toMatch(/\bvary\?: string;/);
    expect(headers).toMatch(/"x-ratelimit-limit"\?: number;/);
    expect(types).not.toMatch(/^\s+vary: /m);
    expect(types).not.toMatch(/"x-ratelimit-[a-z]+": /);
  });
});
