import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { negotiateCoding } from '../src/content-coding.js';
import { buildTestApp } from './helpers.js';
import { responseProblems } from './support/openapi.js';

/** Knowledge-base reads of every kind, small and large, and the API's metadata. */
const URLS = [
  '/v1/roles',
  '/v1/roles/tech-lead',
  '/v1/roles/engineering-manager?companySize=startup',
  '/v1/comparisons?roles=tech-lead,engineering-manager',
  '/v1/comparisons/by-company-size?roles=tech-lead,engineering-manager',
  '/v1/assessment/questions',
  '/v1/competencies?category=people',
  '/v1/competencies/hiring',
  '/v1/company-sizes',
  '/v1/sources',
  '/v1/meta',
  '/v1/exports/knowledge-base',
  '/v1/exports/levels.csv',
];

const decode: Record<string, (body: Buffer) => Buffer> = { br: brotliDecompressSync, gzip: gunzipSync };

let app: App;

beforeAll(async () => {
  app = await buildTestApp();
});

afterAll(async () => {
  await app.close();
});

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

describe('negotiateCoding', () => {
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['identity', 'identity'],
    ['deflate', 'identity'],
    ['gzip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['br', 'br'],
    ['gzip, deflate, br', 'br'],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip;q=1.0, br;q=0.5', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['br;q=0, gzip;q=0', 'identity'],
    ['*', 'br'],
    ['*;q=0.2, br;q=0', 'gzip'],
    ['*;q=0', 'identity'],
    ['gzip ; q=0.8 , br ; q=0.9', 'br'],
    ['gzip;q=abc', 'identity'],
    ['gzip;q=2, br;q=0.5', 'br'],
    ['gzip;q=0.001', 'gzip'],
    [',,;;,', 'identity'],
    ['identity;q=1, gzip;q=0.5', 'identity'],
    ['identity;q=0.9, br;q=0.1', 'identity'],
    ['IDENTITY;q=0.6, *;q=0.5', 'identity'],
    ['identity;q=0.5, gzip', 'gzip'],
    ['identity, gzip', 'gzip'],
    ['identity;q=0.5, *', 'br'],
    ['gzip;q=0.5, br;q=0.1, *;q=0.8', 'identity'],
    ['gzip;q=0.5, *;q=0.5', 'br'],
  ])('%j -> %s', (header, coding) => {
    expect(negotiateCoding(header)).toBe(coding);
  });
});

describe('compressed knowledge-base reads', () => {
  it.each(URLS)('%s sends brotli or gzip when accepted, decoding to the identity body', async (url) => {
    const identity = await get(url);
    expect(identity.statusCode).toBe(200);
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(responseProblems('GET', url, 200, String(identity.headers['content-type']), identity.body)).toEqual([]);
    for (const coding of ['br', 'gzip']) {
      const response = await get(url, { 'accept-encoding': coding });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-encoding']).toBe(coding);
      expect(response.headers['content-type']).toBe(identity.headers['content-type']);
      expect(Number(response.headers['content-length'])).toBe(response.rawPayload.length);
      expect(decode[coding]?.(response.rawPayload).toString('utf8')).toBe(identity.body);
      expect(response.headers.etag).not.toBe(identity.headers.etag);
    }
  });

  it('compresses the large bodies to a fraction of their size', async () => {
    for (const url of ['/v1/roles/tech-lead', '/v1/comparisons?roles=tech-lead,engineering-manager']) {
      const identity = await get(url);
      const brotli = await get(url, { 'accept-encoding': 'gzip, deflate, br' });
      expect(brotli.headers['content-encoding']).toBe('br');
      expect(brotli.rawPayload.length).toBeLessThan(identity.rawPayload.length / 3);
    }
  });

  it.each(URLS)('%s varies on Accept-Encoding, compressed or not', async (url) => {
    for (const headers of [{}, { 'accept-encoding': 'br' }] as Record<string, string>[]) {
      const response = await get(url, headers);
      expect(String(response.headers.vary).toLowerCase()).toContain('accept-encoding');
    }
  });

  it('keeps Vary: Origin from CORS next to Accept-Encoding', async () => {
    const restricted = await buildTestApp({ corsOrigins: ['https://allowed.example'] });
    try {
      const response = await restricted.inject({
        url: '/v1/roles',
        headers: { origin: 'https://allowed.example', 'accept-encoding': 'gzip' },
      });
      const vary = String(response.headers.vary).toLowerCase();
      expect(vary).toContain('origin');
      expect(vary).toContain('accept-encoding');
    } finally {
      await restricted.close();
    }
  });

  // RFC 9110 §13.1.2 compares If-None-Match with the selected representation's tag, and RFC 9111
  // §4.3.4 has a cache update only the stored response whose strong validator the 304 carries.
  // Guards against: a tag of any coding was answered 304 with the tag of another, so a client or
  // cache holding the plain body and now asking for gzip was left with nothing it could use.
  it('answers If-None-Match with 304 only for the tag of the coding the request gets', async () => {
    const url = '/v1/roles/tech-lead';
    const tags = {
      identity: String((await get(url)).headers.etag),
      br: String((await get(url, { 'accept-encoding': 'br' })).headers.etag),
      gzip: String((await get(url, { 'accept-encoding': 'gzip' })).headers.etag),
    };
    expect(new Set(Object.values(tags)).size).toBe(3);
    for (const [heldCoding, held] of Object.entries(tags)) {
      for (const [coding, expected] of Object.entries(tags)) {
        const headers: Record<string, string> = { 'if-none-match': held };
        if (coding !== 'identity') headers['accept-encoding'] = coding;
        const response = await get(url, headers);
        expect(response.statusCode, `${held} asking ${coding}`).toBe(heldCoding === coding ? 304 : 200);
        expect(response.headers.etag).toBe(expected);
        if (heldCoding === coding) expect(response.body).toBe('');
        else expect(response.headers['content-encoding']).toBe(coding === 'identity' ? undefined : coding);
      }
    }
  });

  it('does not answer 304 to the compressed ETag of another resource', async () => {
    const other = String((await get('/v1/roles/engineering-manager', { 'accept-encoding': 'br' })).headers.etag);
    const response = await get('/v1/roles/tech-lead', { 'accept-encoding': 'br', 'if-none-match': other });
    expect(response.statusCode).toBe(200);
  });

  it('leaves problems uncompressed', async () => {
    const missing = await get('/v1/roles/nobody', { 'accept-encoding': 'br' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(missing.body).status).toBe(404);
  });
});

describe('compressed batch answers', () => {
  const submission = (seed: number) => ({
    answers: app.kb.data.questions.map((q, i) => ({ questionId: q.id, value: ((i + seed) % 5) + 1 })),
  });
  const postBatch = (items: unknown[], headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/assessments/batch',
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify({ items }),
    });

  // Guards against: a 500-item batch came back as about 4 MB of plain JSON to a script that asked
  // for gzip, where it compresses to a few per cent of that.
  it('sends a large batch answer in gzip to a client that accepts it, and replays it so', async () => {
    const items = Array.from({ length: 20 }, (_, i) => submission(i));
    const first = await postBatch(items, { 'accept-encoding': 'gzip, deflate, br', 'idempotency-key': 'gzip-batch' });
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-encoding']).toBe('gzip');
    expect(String(first.headers.vary).toLowerCase()).toContain('accept-encoding');
    const text = gunzipSync(first.rawPayload).toString();
    expect(first.rawPayload.length).toBeLessThan(text.length / 4);
    const answer = JSON.parse(text) as { items: { status: number }[] };
    expect(answer.items.map((item) => item.status)).toEqual(items.map(() => 201));
    expect(responseProblems('POST', '/v1/assessments/batch', 200, String(first.headers['content-type']), text)).toEqual([]);
    // The replay is the same answer, in the coding each request accepts.
    const plain = await postBatch(items, { 'idempotency-key': 'gzip-batch' });
    expect([plain.headers['idempotent-replayed'], plain.headers['content-encoding'], plain.body]).toEqual(['true', undefined, text]);
    const gzipped = await postBatch(items, { 'accept-encoding': 'gzip', 'idempotency-key': 'gzip-batch' });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzipped.rawPayload).toString()).toBe(text);
  });

  it('leaves a small batch answer, and one to a client that does not accept gzip, uncompressed', async () => {
    const small = await postBatch([{ answers: [] }], { 'accept-encoding': 'gzip' });
    expect([small.statusCode, small.headers['content-encoding']]).toEqual([200, undefined]);
    expect(String(small.headers.vary).toLowerCase()).toContain('accept-encoding');
    const refused = await postBatch(
      Array.from({ length: 20 }, (_, i) => submission(i)),
      { 'accept-encoding': 'gzip;q=0, br' },
    );
    expect([refused.statusCode, refused.headers['content-encoding']]).toEqual([200, undefined]);
    expect((JSON.parse(refused.body) as { items: unknown[] }).items).toHaveLength(20);
  });
});
