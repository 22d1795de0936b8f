import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { negotiateCoding } from '../src/content-coding.js';
import { agent, type Got, get, listening, postJson } from './support/http.js';

/** One listening app for the file: the front keeps answers per URL, so the tests' paths never meet. */
let server: Awaited<ReturnType<typeof listening>>;
beforeAll(async () => {
  server = await listening();
});
afterAll(async () => {
  await server.app.close();
  agent.destroy();
});

const header = (got: Got, name: string) => {
  const at = got.headers.findIndex((h) => h.toLowerCase() === name);
  return at < 0 ? undefined : got.headers[at + 1];
};
/** Header pairs without those that differ between any two responses (or between inject and a socket). */
const stable = (headers: Record<string, unknown> | string[]) => {
  const pairs: string[] = [];
  const entries: [string, unknown][] = Array.isArray(headers)
    ? Array.from({ length: headers.length / 2 }, (_, i) => [headers[2 * i] as string, headers[2 * i + 1]])
    : Object.entries(headers);
  for (const [name, value] of entries) {
    const n = name.toLowerCase();
    if (!['date', 'x-request-id', 'connection', 'keep-alive'].includes(n)) pairs.push(`${n}: ${String(value)}`);
  }
  return pairs.sort();
};

describe('response cache keys of the competency list', () => {
  it('keeps a search for the word "undefined" apart from the unfiltered list', async () => {
    const all = server.app.kb.data.competencies.length;
    expect(all).toBeGreaterThan(0);
    // Nothing in the knowledge base mentions "undefined": the search is rightly empty...
    const search = await get(server.base, '/v1/competencies?q=undefined');
    expect(search.status).toBe(200);
    expect(JSON.parse(search.body.toString()).total).toBe(0);
    // ...and must not be cached under the unfiltered list's key, or every later client of
    // GET /v1/competencies would get the empty page, repeated by the front too.
    for (let i = 0; i < 2; i++) {
      const list = await get(server.base, '/v1/competencies');
      expect(list.status).toBe(200);
      expect(JSON.parse(list.body.toString()).total, `request ${i + 1}`).toBe(all);
      expect(header(list, 'etag')).not.toBe(header(search, 'etag'));
    }
  });

  it('nor does the unfiltered list answer a search for "undefined" (the other order)', async () => {
    const app = await buildApp({ databasePath: ':memory:', maxEventLoopDelayMs: 60_000 });
    try {
      await app.ready();
      const list = await app.inject('/v1/competencies');
      expect(list.json().total).toBe(app.kb.data.competencies.length);
      const search = await app.inject('/v1/competencies?q=UNDEFINED');
      expect(search.statusCode).toBe(200);
      expect(search.json().total).toBe(0);
      // The unfiltered list's ETag does not validate the search.
      expect(
        (await app.inject({ url: '/v1/competencies?q=undefined', headers: { 'if-none-match': String(list.headers.etag) } })).statusCode,
      ).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('negotiateCoding', () => {
  it('treats a q-value above 1 as malformed (unacceptable), as it does q=2', () => {
    // RFC 9110 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ): 1.5 and 1.001 are
    // malformed, not preferred.
    expect(negotiateCoding('gzip;q=2, br;q=0.5')).toBe('br');
    expect(negotiateCoding('gzip;q=1.5, br;q=0.5')).toBe('br');
    expect(negotiateCoding('gzip;q=1.001, br;q=0.5')).toBe('br');
  });
});

describe('the cached front repeats what Fastify sends', () => {
  it('for Accept-Encoding variants (q=0, identity;q=0, x-gzip, *, duplicates), headers and body as Fastify sends them', async () => {
    const path = '/v1/roles/tech-lead?companySize=startup';
    for (const acceptEncoding of [
      'identity;q=0',
      'gzip;q=0',
      'br;q=0, gzip',
      'x-gzip',
      '*',
      '*;q=0',
      'GZIP;Q=0.5, BR;Q=0.4',
      'deflate',
      'identity;q=1, gzip;q=0.5',
    ]) {
      const headers = { 'accept-encoding': acceptEncoding };
      await get(server.base, path, headers);
      const before = server.routed();
      const repeated = await get(server.base, path, headers);
      expect(server.routed(), acceptEncoding).toBe(before);
      const fastify = await server.app.inject({ url: path, headers });
      expect(repeated.status).toBe(fastify.statusCode);
      expect(stable(repeated.headers), acceptEncoding).toEqual(stable(fastify.headers));
      expect(repeated.body.equals(fastify.rawPayload), acceptEncoding).toBe(true);
    }
  });

  it('for the CSV export, its type and Content-Disposition included', async () => {
    for (const acceptEncoding of ['identity', 'gzip']) {
      const headers = { 'accept-encoding': acceptEncoding };
      await get(server.base, '/v1/exports/levels.csv', headers);
      const before = server.routed();
      const repeated = await get(server.base, '/v1/exports/levels.csv', headers);
      expect(server.routed(), acceptEncoding).toBe(before);
      expect(header(repeated, 'content-type')).toBe('text/csv; charset=utf-8; header=present');
      expect(header(repeated, 'content-disposition')).toMatch(/^attachment; filename="role-competency-levels-.+\.csv"$/);
      const fastify = await server.app.inject({ url: '/v1/exports/levels.csv', headers });
      expect(stable(repeated.headers), acceptEncoding).toEqual(stable(fastify.headers));
      expect(repeated.body.equals(fastify.rawPayload), acceptEncoding).toBe(true);
    }
  });

  it('leaves a stored read with If-None-Match to the route, which answers `*` with 304', async () => {
    const questions = server.app.kb.data.questions;
    const payload = JSON.stringify({ answers: questions.map((q, i) => ({ questionId: q.id, value: ((i + 2) % 5) + 1 })) });
    const created = await postJson(server.base, '/v1/assessments', payload);
    expect(created.status).toBe(201);
    const path = `/v1/assessments/${JSON.parse(created.body.toString()).id}`;
    // Twice: the first read gives the front the headers of a stored read, the second is answered by it.
    expect((await get(server.base, path)).status).toBe(200);
    let before = server.routed();
    expect((await get(server.base, path)).status).toBe(200);
    expect(server.routed()).toBe(before);
    before = server.routed();
    const conditional = await get(server.base, path, { 'if-none-match': '*' });
    expect(server.routed()).toBe(before + 1);
    expect(conditional.status).toBe(304);
    expect(conditional.body.length).toBe(0);
    expect(header(conditional, 'cache-control')).toBe('private, max-age=86400, immutable');
  });

  it('leaves a stored read to the route when the document is kept gzip-compressed', async () => {
    const questions = server.app.kb.data.questions;
    const payload = JSON.stringify({ answers: questions.map((q, i) => ({ questionId: q.id, value: (i % 5) + 1 })) });
    const created = await postJson(server.base, '/v1/assessments', payload);
    expect(created.status).toBe(201);
    const { id, createdAt } = JSON.parse(created.body.toString()) as { id: string; createdAt: string };
    // The front now keeps the headers of a stored read.
    expect((await get(server.base, `/v1/assessments/${id}`)).status).toBe(200);
    const compressedId = '00000000-0000-4000-8000-00000000c0de';
    const json = created.body.toString().replace(id, compressedId);
    server.app.repository.sqlite
      .prepare(
        `insert into assessments (id, created_at, document, instrument_version, scoring_version, kb_release)
         values (?, ?, ?, 'i', 's', 'k')`,
      )
      .run(compressedId, createdAt, gzipSync(json));
    for (const acceptEncoding of ['gzip', 'br']) {
      const before = server.routed();
      const read = await get(server.base, `/v1/assessments/${compressedId}`, { 'accept-encoding': acceptEncoding });
      expect(server.routed()).toBe(before + 1);
      expect(read.status).toBe(200);
      expect(String(header(read, 'vary')).toLowerCase()).toContain('accept-encoding');
      const body = header(read, 'content-encoding') === 'gzip' ? gunzipSync(read.body) : read.body;
      expect(header(read, 'content-encoding')).toBe(acceptEncoding === 'gzip' ? 'gzip' : undefined);
      expect(body.toString()).toBe(json);
    }
  });
});
