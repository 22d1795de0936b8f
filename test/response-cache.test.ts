import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CachedFront } from '../src/cached-front.js';
import responseCache, { encodings } from '../src/plugins/response-cache.js';

const Body = z.object({ minAnswers: z.number() });

/**
 * The response cache alone, with one route whose body comes from code: two of these stand for two
 * builds of the API serving the same knowledge-base release.
 */
async function appBuilding(body: z.input<typeof Body>, calls = { builds: 0 }) {
  const app = Fastify();
  app.decorate('cachedFront', new CachedFront());
  await app.register(responseCache, { maxEntries: 2, tagPrefix: '2026.12.0' });
  app.get('/probe/:key', async (request, reply) =>
    app.sendCached(request, reply, (request.params as { key: string }).key, Body, () => {
      calls.builds++;
      return body;
    }),
  );
  await app.ready();
  return app;
}

const opened: Awaited<ReturnType<typeof appBuilding>>[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((app) => app.close()));
});

async function open(body: z.input<typeof Body>, calls?: { builds: number }) {
  const app = await appBuilding(body, calls);
  opened.push(app);
  return app;
}

// Guards against: a small compressed body was a slice of zlib's 16 KiB output buffer and kept all of
// it alive, so 2,000 entries of list pages (94 KB of bodies) held about 62 MB.
describe('cached bodies in memory', () => {
  // Guards against: on Node 24.18 and later, whose shared Buffer pool is 64 KiB, each small cached
  // body kept a whole pool block alive (2,000 of them, 83 MB), and zlib's slices a 16 KiB buffer each.
  it('keep no more memory than their own bytes, none of it in a shared pool', () => {
    const bodies = encodings(Buffer.from('{"items":[],"total":2,"limit":50,"offset":1234}'));
    expect(Object.keys(bodies).sort()).toEqual(['br', 'gzip', 'identity']);
    for (const [coding, body] of Object.entries(bodies)) {
      expect(body.length, coding).toBeGreaterThan(0);
      expect(body.buffer.byteLength, coding).toBe(body.length);
    }
  });
});

describe('ETags of cached responses', () => {
  it('change when the code builds different bytes for the same key, so an old ETag gets the new body', async () => {
    const before = await open({ minAnswers: 8 });
    const after = await open({ minAnswers: 10 });
    const old = await before.inject('/probe/instrument');
    const fresh = await after.inject('/probe/instrument');
    expect(old.headers.etag).toMatch(/^"2026\.12\.0-[\w-]{22}"$/);
    expect(fresh.headers.etag).not.toBe(old.headers.etag);

    const revalidated = await after.inject({ url: '/probe/instrument', headers: { 'if-none-match': String(old.headers.etag) } });
    expect(revalidated.statusCode).toBe(200);
    expect(revalidated.json()).toEqual({ minAnswers: 10 });
    expect(revalidated.headers.etag).toBe(fresh.headers.etag);
  });

  it('agree between two builds that give the same bytes, even when a 304 is the first thing a build answers', async () => {
    const first = await open({ minAnswers: 8 });
    const calls = { builds: 0 };
    const second = await open({ minAnswers: 8 }, calls);
    const { etag } = (await first.inject('/probe/instrument')).headers;
    const conditional = await second.inject({ url: '/probe/instrument', headers: { 'if-none-match': String(etag) } });
    expect(conditional.statusCode).toBe(304);
    expect(conditional.headers.etag).toBe(etag);
    expect(calls.builds).toBe(1);
  });

  it('differ between two keys with equal bodies', async () => {
    const app = await open({ minAnswers: 8 });
    const a = await app.inject('/probe/a');
    const b = await app.inject('/probe/b');
    expect(a.body).toBe(b.body);
    expect(a.headers.etag).not.toBe(b.headers.etag);
    expect((await app.inject({ url: '/probe/b', headers: { 'if-none-match': String(a.headers.etag) } })).statusCode).toBe(200);
  });

  it('are built once per key while it stays cached, and again once it was evicted', async () => {
    const calls = { builds: 0 };
    const app = await open({ minAnswers: 8 }, calls);
    const { etag } = (await app.inject('/probe/a')).headers;
    expect((await app.inject({ url: '/probe/a', headers: { 'if-none-match': String(etag) } })).statusCode).toBe(304);
    expect(calls.builds).toBe(1);
    // maxEntries is 2: b and c push a out.
    await app.inject('/probe/b');
    await app.inject('/probe/c');
    expect(calls.builds).toBe(3);
    const again = await app.inject({ url: '/probe/a', headers: { 'if-none-match': String(etag) } });
    expect(again.statusCode).toBe(304);
    expect(calls.builds).toBe(4);
  });
});

describe('cached pages of a list', () => {
  const Page = z.object({ items: z.array(z.string()), total: z.int(), limit: z.int(), offset: z.int() });
  const Query = z.object({ limit: z.coerce.number(), offset: z.coerce.number() });

  async function listing(calls: { lists: number }) {
    const app = Fastify();
    app.decorate('cachedFront', new CachedFront());
    await app.register(responseCache, { maxEntries: 10 });
    app.get('/letters', async (request, reply) => {
      // As the routes' query schemas give them: numbers, parsed.
      request.query = Query.parse(request.query);
      const { limit, offset } = request.query as z.infer<typeof Query>;
      return app.sendCachedPage(request, reply, `letters|${limit}|${offset}`, Page, () => {
        calls.lists++;
        return ['a', 'b', 'c', 'd', 'e'];
      });
    });
    await app.ready();
    opened.push(app);
    return app;
  }

  // Guards against (from a review): the competencies' filter ran on every request that reached
  // Fastify, 304s and cross-origin reads included, only to count the list for its Link header.
  it('take the list once per page, and link every answer of it, 304s included', async () => {
    const calls = { lists: 0 };
    const app = await listing(calls);
    const first = await app.inject('/letters?limit=2&offset=2');
    expect(first.json()).toEqual({ items: ['c', 'd'], total: 5, limit: 2, offset: 2 });
    const links =
      '</letters?limit=2&offset=0>; rel="first", </letters?limit=2&offset=0>; rel="prev", </letters?limit=2&offset=4>; rel="next", </letters?limit=2&offset=4>; rel="last"';
    expect(first.headers.link).toBe(links);
    const again = await app.inject('/letters?limit=2&offset=2');
    const revalidated = await app.inject({ url: '/letters?limit=2&offset=2', headers: { 'if-none-match': String(first.headers.etag) } });
    expect([again.statusCode, again.headers.link, revalidated.statusCode, revalidated.headers.link]).toEqual([200, links, 304, links]);
    expect(calls.lists).toBe(1);
    await app.inject('/letters?limit=2&offset=0');
    expect(calls.lists).toBe(2);
  });
});
