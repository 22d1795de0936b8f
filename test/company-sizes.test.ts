import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { projectRoot } from '../src/paths.js';
import { buildTestApp } from './helpers.js';
import { getDocumented, responseProblems } from './support/openapi.js';

type SeedSize = { slug: string; name: string; headcountMin: number; headcountMax: number | null; description: string };

const sizes = JSON.parse(readFileSync(join(projectRoot, 'seed', 'company-sizes.json'), 'utf8')) as SeedSize[];

/** The sizes as the API should give them: seed fields plus `order`, 1 for the first. */
const expected = sizes.map((size, i) => ({ ...size, order: i + 1 }));

let app: App;

beforeAll(async () => {
  app = await buildTestApp();
});

afterAll(async () => {
  await app.close();
});

type Response = Awaited<ReturnType<App['inject']>>;

/** GETs a URL and checks that the response matches what the committed OpenAPI document promises. */
const get = (url: string): Promise<Response> => getDocumented(app, url);

describe('GET /v1/company-sizes', () => {
  it('the seed holds startup, scale-up and big-tech in that order', () => {
    expect(sizes.map((s) => s.slug)).toEqual(['startup', 'scale-up', 'big-tech']);
  });

  it('lists startup, scale-up, big-tech in that order with order 1..3 and the headcounts of the seed', async () => {
    const response = await get('/v1/company-sizes');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = response.json();
    expect(body).toEqual({ items: expected, total: sizes.length, limit: 50, offset: 0 });
    expect(body.items.map((s: { slug: string }) => s.slug)).toEqual(['startup', 'scale-up', 'big-tech']);
    expect(body.items.map((s: { order: number }) => s.order)).toEqual([1, 2, 3]);
  });

  it('gives each size its headcount range, null meaning no upper bound', async () => {
    const body = (await get('/v1/company-sizes')).json();
    for (const size of sizes) {
      const item = body.items.find((s: { slug: string }) => s.slug === size.slug);
      expect(item.headcountMin, size.slug).toBe(size.headcountMin);
      expect(item.headcountMax, size.slug).toBe(size.headcountMax);
    }
    expect(body.items.find((s: { slug: string }) => s.slug === 'big-tech').headcountMax).toBeNull();
  });

  it('pages with limit and offset and keeps the total', async () => {
    expect((await get('/v1/company-sizes?limit=1&offset=1')).json()).toEqual({
      items: expected.slice(1, 2),
      total: sizes.length,
      limit: 1,
      offset: 1,
    });
    expect((await get(`/v1/company-sizes?offset=${sizes.length}`)).json()).toEqual({
      items: [],
      total: sizes.length,
      limit: 50,
      offset: sizes.length,
    });
  });

  it.each([
    ['limit=0', 'querystring.limit'],
    ['limit=201', 'querystring.limit'],
    ['offset=-1', 'querystring.offset'],
  ])('rejects %s with a 400 problem naming %s', async (query, field) => {
    const response = await get(`/v1/company-sizes?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json().errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('rejects an unknown query parameter with a 400 problem', async () => {
    const response = await get('/v1/company-sizes?sort=desc');
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('GET /v1/sources', () => {
  it('lists every cited source with its title and kind, as in seed/sources.json', async () => {
    const app = await buildTestApp();
    try {
      const seedSources = JSON.parse(readFileSync(join(projectRoot, 'seed', 'sources.json'), 'utf8')) as { id: string }[];
      const response = await app.inject('/v1/sources');
      expect(response.statusCode).toBe(200);
      expect(responseProblems('GET', '/v1/sources', 200, response.headers['content-type'] as string, response.body)).toEqual([]);
      const body = response.json();
      expect(body.total).toBe(seedSources.length);
      expect(new Set(body.items.map((s: { id: string }) => s.id))).toEqual(new Set(seedSources.map((s) => s.id)));
      const cited = new Set(
        app.kb.data.expectations.flatMap((e) => [...e.citations, ...e.variants.flatMap((v) => v.citations)]).map((c) => c.source),
      );
      for (const id of cited)
        expect(
          body.items.some((s: { id: string }) => s.id === id),
          id,
        ).toBe(true);
    } finally {
      await app.close();
    }
  });
});

describe('GET /v1/company-sizes/{companySize}', () => {
  it('gives each size as the list does', async () => {
    for (const size of expected) {
      const response = await get(`/v1/company-sizes/${size.slug}`);
      expect(response.statusCode, size.slug).toBe(200);
      expect(response.json()).toEqual(size);
      expect(response.headers.etag).toMatch(/^"/);
      const again = await app.inject({
        url: `/v1/company-sizes/${size.slug}`,
        headers: { 'if-none-match': response.headers.etag as string },
      });
      expect(again.statusCode).toBe(304);
    }
  });

  it('answers an unknown size 404 naming it, a malformed one 400 and an undeclared parameter 400', async () => {
    const unknown = await get('/v1/company-sizes/huge');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().errors).toEqual([
      { field: 'params.companySize', message: 'unknown company size "huge": must be one of: startup, scale-up, big-tech' },
    ]);
    const malformed = await get('/v1/company-sizes/Big_Tech');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().errors.map((e: { field: string }) => e.field)).toEqual(['params.companySize']);
    const extra = await get('/v1/company-sizes/startup?limit=1');
    expect(extra.statusCode).toBe(400);
    expect(extra.json().errors).toEqual([{ field: 'querystring.limit', message: 'unknown parameter' }]);
  });
});

// An HR tool follows a citation's source id to the source's title and kind.
describe('GET /v1/sources/{source}', () => {
  it('gives every source a citation names, as the list does', async () => {
    const listed = (await get('/v1/sources')).json().items as { id: string }[];
    const cited = new Set(
      app.kb.data.expectations.flatMap((e) => [...e.citations, ...e.variants.flatMap((v) => v.citations)]).map((c) => c.source),
    );
    expect(cited.size).toBeGreaterThan(0);
    for (const id of cited) {
      const response = await get(`/v1/sources/${id}`);
      expect(response.statusCode, id).toBe(200);
      expect(response.json()).toEqual(listed.find((s) => s.id === id));
    }
  });

  it('answers an unknown source 404 naming it, and a HEAD with the headers of its GET', async () => {
    const unknown = await get('/v1/sources/no-such-source');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().errors).toEqual([
      {
        field: 'params.source',
        message: 'unknown source "no-such-source": must be one of: article-three-differences, qa-commonalities-and-differences',
      },
    ]);
    const url = '/v1/sources/article-three-differences';
    const [full, head] = [await app.inject(url), await app.inject({ method: 'HEAD', url })];
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(full.headers['content-length']);
    expect(head.headers.etag).toBe(full.headers.etag);
  });
});
