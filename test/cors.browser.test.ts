// A frontend on another origin, in a real browser: Chromium loads a page from a plain node:http
// server on its own port and calls the API with fetch(). The API's side records every request it
// receives (preflights included) with the head of its answer. Origins A and B are in CORS_ORIGINS,
// C is not; a second app allows `*` and has a low rate limit.
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';
import {
  allowed,
  type Called,
  type Caller,
  type Exchange,
  type Frontend,
  launchChromium,
  openFrontend,
  recordExchanges,
  serveFrontend,
} from './support/browser.js';
import { readRawSeed } from './support/fixtures.js';
import { agent, get, listenLocally } from './support/http.js';
import { submission } from './support/process.js';

type App = Awaited<ReturnType<typeof buildTestApp>>;

const QUESTIONS = readRawSeed().questions.questions;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const JSON_POST = { 'content-type': 'application/json' };

/** The fields of a recorded response's Vary, lowercase. */
const varyFields = (exchange: Exchange | undefined) =>
  (exchange?.responseHeaders.vary ?? '')
    .toLowerCase()
    .split(/\s*,\s*/)
    .filter(Boolean);

/** The body, parsed, of a read the browser allowed. */
const jsonOf = (called: Called) => JSON.parse(allowed(called).body);

afterAll(() => agent.destroy());

describe('a frontend on another origin calls the API from Chromium', () => {
  let browser: Browser;
  let a: Frontend;
  let b: Frontend;
  let c: Frontend;
  let app: App;
  let api: string;
  let wire: ReturnType<typeof recordExchanges>;
  let context: BrowserContext;
  let callA: Caller;

  /** The identity JSON the API serves for `path`, read without the browser. */
  const reference = async (path: string) => (await app.inject({ url: path })).json();
  /** The exchanges since `mark` for a method and a URL path (with its query). */
  const exchangesOf = (mark: number, method: string, path: string) => wire.since(mark).filter((e) => e.method === method && e.url === path);

  beforeAll(async () => {
    [a, b, c] = await Promise.all([serveFrontend(), serveFrontend(), serveFrontend()]);
    app = await buildTestApp({ corsOrigins: [a.origin, b.origin] });
    wire = recordExchanges(app.server);
    ({ base: api } = await listenLocally(app));
    browser = await launchChromium();
    context = await browser.newContext();
    callA = (await openFrontend(context, a)).call;
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await Promise.all([a, b, c].map((frontend) => frontend?.close()));
  });

  it('reads roles, a role at a size, comparisons, the questions and filtered competencies: status, JSON, ETag and X-Request-Id', async () => {
    const paths = [
      '/v1/roles',
      '/v1/roles/engineering-manager?companySize=startup',
      '/v1/comparisons?roles=tech-lead,engineering-manager&companySize=big-tech',
      '/v1/comparisons/by-company-size?roles=tech-lead,engineering-manager',
      '/v1/assessment/questions',
      '/v1/competencies?role=engineering-manager&minLevel=3&companySize=big-tech',
      '/v1/competencies?category=people&limit=2&offset=1',
      '/v1/meta',
    ];
    for (const path of paths) {
      const mark = wire.mark();
      const read = allowed(await callA(`${api}${path}`));
      expect(read.status, path).toBe(200);
      expect(read.headers['content-type'], path).toBe('application/json; charset=utf-8');
      expect(JSON.parse(read.body), path).toEqual(await reference(path));
      // Chromium offers br first; each coding has its own ETag, and the page can read it.
      expect(read.headers.etag, path).toMatch(/^"[^"]+-br"$/);
      expect(read.headers['x-request-id'], path).toMatch(UUID);
      const [sent] = exchangesOf(mark, 'GET', path);
      expect(sent?.requestHeaders.origin, path).toBe(a.origin);
      expect(sent?.responseHeaders['access-control-allow-origin'], path).toBe(a.origin);
      expect(sent?.responseHeaders['x-request-id'], path).toBe(read.headers['x-request-id']);
      expect(varyFields(sent), path).toEqual(expect.arrayContaining(['origin', 'accept-encoding']));
    }
    const filtered = jsonOf(await callA(`${api}/v1/competencies?role=engineering-manager&minLevel=3&companySize=big-tech`));
    expect(filtered.total).toBeGreaterThan(0);
    expect(filtered.items).toHaveLength(filtered.total);
    const paged = jsonOf(await callA(`${api}/v1/competencies?category=people&limit=2&offset=1`));
    expect({ limit: paged.limit, offset: paged.offset, count: paged.items.length }).toEqual({ limit: 2, offset: 1, count: 2 });
    // Routes outside the knowledge-base cache answer cross-origin too (a client generated from the document, a status light).
    expect(jsonOf(await callA(`${api}/openapi.json`)).openapi).toBe('3.1.0');
    expect(allowed(await callA(`${api}/health`)).status).toBe(200);
  });

  it('answers the preflight of a JSON POST with an Idempotency-Key: its origin, the methods, the headers asked, Max-Age and Vary', async () => {
    const fresh = await browser.newContext();
    try {
      const { call } = await openFrontend(fresh, a);
      const body = submission(QUESTIONS, 'preflight', 1);
      const mark = wire.mark();
      const first = allowed(
        await call(`${api}/v1/assessments/preview`, { method: 'POST', headers: { ...JSON_POST, 'idempotency-key': 'pf-1' }, body }),
      );
      expect(first.status).toBe(200);
      const [preflight, ...more] = exchangesOf(mark, 'OPTIONS', '/v1/assessments/preview');
      expect(more).toEqual([]);
      expect(preflight?.requestHeaders['access-control-request-method']).toBe('POST');
      expect(preflight?.requestHeaders['access-control-request-headers']).toBe('content-type,idempotency-key');
      expect(preflight?.status).toBe(204);
      const head = preflight?.responseHeaders ?? {};
      expect(head['access-control-allow-origin']).toBe(a.origin);
      expect(head['access-control-allow-methods']?.split(/\s*,\s*/)).toEqual(expect.arrayContaining(['GET', 'HEAD', 'POST']));
      expect(head['access-control-allow-headers']?.toLowerCase().split(/\s*,\s*/)).toEqual(
        expect.arrayContaining(['content-type', 'idempotency-key']),
      );
      expect(head['access-control-max-age']).toBe('600');
      expect(varyFields(preflight)).toEqual(
        expect.arrayContaining(['origin', 'access-control-request-method', 'access-control-request-headers']),
      );
      // Within Max-Age the browser sends the same kind of request without asking again.
      const again = wire.mark();
      allowed(await call(`${api}/v1/assessments/preview`, { method: 'POST', headers: { ...JSON_POST, 'idempotency-key': 'pf-2' }, body }));
      expect(exchangesOf(again, 'OPTIONS', '/v1/assessments/preview')).toEqual([]);
      expect(exchangesOf(again, 'POST', '/v1/assessments/preview')).toHaveLength(1);
    } finally {
      await fresh.close();
    }
  });

  it('stores an assessment with an Idempotency-Key, replays it, and reads it back through the Location header', async () => {
    const body = submission(QUESTIONS, 'browser round trip', 2);
    const init = { method: 'POST', headers: { ...JSON_POST, 'idempotency-key': 'browser-1' }, body };
    const created = allowed(await callA(`${api}/v1/assessments`, init));
    expect(created.status).toBe(201);
    expect(created.headers['x-request-id']).toMatch(UUID);
    const location = created.headers.location;
    expect(location).toMatch(/^\/v1\/assessments\/[0-9a-f-]{36}$/);
    const stored = JSON.parse(created.body);
    expect(location).toBe(`/v1/assessments/${stored.id}`);
    expect(created.headers['idempotent-replayed']).toBeUndefined();

    const replay = allowed(await callA(`${api}/v1/assessments`, init));
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers.location).toBe(location);
    expect(replay.body).toBe(created.body);

    // Location is relative: a frontend resolves it against the response's URL (the API), not the page.
    const readBack = allowed(await callA(new URL(location as string, created.url).href));
    expect(readBack.url).toBe(`${api}${location}`);
    expect(readBack.status).toBe(200);
    expect(readBack.body).toBe(created.body);
    expect(readBack.headers['cache-control']).toBe('private, max-age=86400, immutable');
  });

  it('scores a batch: 200 with one outcome per item in order, the bad item as a problem', async () => {
    const good = JSON.parse(submission(QUESTIONS, 'batch good', 3));
    const unscorable = { answers: [{ questionId: 'q-nope', value: 3 }] };
    const read = allowed(
      await callA(`${api}/v1/assessments/batch`, {
        method: 'POST',
        headers: { ...JSON_POST, 'idempotency-key': 'browser-batch-1' },
        body: JSON.stringify({ items: [good, unscorable] }),
      }),
    );
    expect(read.status).toBe(200);
    const { items } = JSON.parse(read.body);
    expect(items.map((item: { status: number }) => item.status)).toEqual([201, 422]);
    expect(items[0].assessment.id).toMatch(UUID);
    expect(items[1].problem).toMatchObject({ status: 422, code: 'unscorable-submission' });
    const readBack = allowed(await callA(`${api}/v1/assessments/${items[0].assessment.id}`));
    expect(JSON.parse(readBack.body)).toEqual(items[0].assessment);
    const replay = allowed(
      await callA(`${api}/v1/assessments/batch`, {
        method: 'POST',
        headers: { ...JSON_POST, 'idempotency-key': 'browser-batch-1' },
        body: JSON.stringify({ items: [good, unscorable] }),
      }),
    );
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toBe(read.body);
  });

  it('lets the page read every error as problem+json with its status and X-Request-Id: 400, 404, 413, 415 (both kinds), 422', async () => {
    const cases: { label: string; path: string; init?: Parameters<Caller>[1]; status: number; code: string }[] = [
      { label: 'bad query', path: '/v1/competencies?limit=0x10', status: 400, code: 'validation-error' },
      { label: 'unknown query parameter', path: '/v1/roles?colour=red', status: 400, code: 'validation-error' },
      { label: 'bad percent-encoding', path: '/v1/roles/%E0%A4%A', status: 400, code: 'bad-url' },
      { label: 'unknown role', path: '/v1/roles/cto', status: 404, code: 'not-found' },
      { label: 'unknown route', path: '/v1/nothing-here', status: 404, code: 'not-found' },
      { label: 'unknown assessment', path: '/v1/assessments/2b1c8a4e-5d6f-4a7b-8c9d-0e1f2a3b4c5d', status: 404, code: 'not-found' },
      {
        label: 'too large',
        path: '/v1/assessments',
        init: { method: 'POST', headers: JSON_POST, body: JSON.stringify({ answers: [], respondent: 'x'.repeat(300_000) }) },
        status: 413,
        code: 'payload-too-large',
      },
      // fetch() sends a string body as text/plain: a "simple" request, with no preflight.
      { label: 'text/plain', path: '/v1/assessments', init: { method: 'POST', body: '{}' }, status: 415, code: 'unsupported-media-type' },
      {
        label: 'compressed body',
        path: '/v1/assessments',
        init: { method: 'POST', headers: { ...JSON_POST, 'content-encoding': 'gzip' }, body: '{}' },
        status: 415,
        code: 'unsupported-content-encoding',
      },
      {
        label: 'unscorable',
        path: '/v1/assessments',
        init: { method: 'POST', headers: JSON_POST, body: JSON.stringify({ answers: [{ questionId: 'q-nope', value: 3 }] }) },
        status: 422,
        code: 'unscorable-submission',
      },
      {
        label: 'malformed JSON',
        path: '/v1/assessments/preview',
        init: { method: 'POST', headers: JSON_POST, body: '{"answers": [' },
        status: 400,
        code: 'malformed-body',
      },
    ];
    for (const { label, path, init, status, code } of cases) {
      const read = allowed(await callA(`${api}${path}`, { cache: 'no-store', ...init }));
      expect(read.status, label).toBe(status);
      expect(read.headers['content-type'], label).toBe('application/problem+json');
      const problem = JSON.parse(read.body);
      expect(problem, label).toMatchObject({ status, code, title: expect.any(String), detail: expect.any(String) });
      expect(problem.requestId, label).toBe(read.headers['x-request-id']);
      if (code === 'unsupported-content-encoding') expect(read.headers['accept-encoding'], label).toBe('identity');
      if (code === 'unscorable-submission')
        expect(problem.errors.map((e: { field: string }) => e.field)).toContain('body.answers[0].questionId');
    }
  });

  it('refuses an origin that CORS_ORIGINS does not list: reads fail in the page, and a JSON POST never reaches the route', async () => {
    const { call } = await openFrontend(context, c);
    let mark = wire.mark();
    const read = await call(`${api}/v1/company-sizes`, { cache: 'no-store' });
    expect(read).toMatchObject({ ok: false, error: expect.stringContaining('Failed to fetch') });
    const [sent] = exchangesOf(mark, 'GET', '/v1/company-sizes');
    expect(sent?.requestHeaders.origin).toBe(c.origin);
    expect(sent?.responseHeaders['access-control-allow-origin']).toBeUndefined();
    expect(sent?.responseHeaders['access-control-expose-headers']).toBeUndefined();

    mark = wire.mark();
    const posted = await call(`${api}/v1/assessments`, { method: 'POST', headers: JSON_POST, body: submission(QUESTIONS, 'refused', 4) });
    expect(posted).toMatchObject({ ok: false });
    const seen = wire.since(mark).map((e) => `${e.method} ${e.url} ${e.status}`);
    expect(seen).toEqual(['OPTIONS /v1/assessments 204']);
    expect(exchangesOf(mark, 'OPTIONS', '/v1/assessments')[0]?.responseHeaders['access-control-allow-origin']).toBeUndefined();

    // A listed origin asking for a method the API does not allow is refused before the request goes out.
    mark = wire.mark();
    expect(await callA(`${api}/v1/roles`, { method: 'PUT' })).toMatchObject({ ok: false });
    expect(wire.since(mark).map((e) => e.method)).toEqual(['OPTIONS']);
  });

  it('revalidates with ETags: the page reads a 304 to its own If-None-Match, and the browser cache turns a 304 into its cached 200', async () => {
    const path = '/v1/roles/tech-lead?companySize=scale-up';
    const first = allowed(await callA(`${api}${path}`));
    expect(first.status).toBe(200);
    const etag = first.headers.etag as string;

    // If-None-Match is not safelisted: the request is preflighted and the 304 goes to the page.
    const conditional = allowed(await callA(`${api}${path}`, { headers: { 'if-none-match': etag } }));
    expect(conditional.status).toBe(304);
    expect(conditional.body).toBe('');
    expect(conditional.headers.etag).toBe(etag);
    expect(conditional.headers['x-request-id']).toMatch(UUID);

    // The browser revalidates on its own with cache: 'no-cache' and hands the page the cached body.
    const mark = wire.mark();
    const revalidated = allowed(await callA(`${api}${path}`, { cache: 'no-cache' }));
    const [sent] = exchangesOf(mark, 'GET', path);
    expect(sent?.requestHeaders['if-none-match']).toBe(etag);
    expect(sent?.status).toBe(304);
    expect(sent?.responseHeaders['access-control-allow-origin']).toBe(a.origin);
    expect(revalidated.status).toBe(200);
    expect(revalidated.body).toBe(first.body);
    expect(revalidated.headers.etag).toBe(etag);

    // A fresh entry is served from the cache without a request.
    const cachedMark = wire.mark();
    expect(allowed(await callA(`${api}${path}`)).body).toBe(first.body);
    expect(exchangesOf(cachedMark, 'GET', path)).toEqual([]);
  });

  it("never hands one origin's cached response to another (Vary: Origin)", async () => {
    const path = '/v1/comparisons?roles=tech-lead,engineering-manager';
    const fromA = allowed(await callA(`${api}${path}`));
    expect(fromA.status).toBe(200);

    // B shares A's cache partition (same site, another port): it must go back to the server.
    const { call: callB } = await openFrontend(context, b);
    let mark = wire.mark();
    const fromB = allowed(await callB(`${api}${path}`));
    expect(fromB.status).toBe(200);
    expect(fromB.body).toBe(fromA.body);
    const [sentB] = exchangesOf(mark, 'GET', path);
    expect(sentB?.requestHeaders.origin).toBe(b.origin);
    expect(sentB?.responseHeaders['access-control-allow-origin']).toBe(b.origin);

    // C is not listed: the cached body stays out of its reach.
    const { call: callC } = await openFrontend(context, c);
    mark = wire.mark();
    expect(await callC(`${api}${path}`)).toMatchObject({ ok: false });
    expect(exchangesOf(mark, 'GET', path)[0]?.requestHeaders.origin).toBe(c.origin);

    // And A again, after B's revalidation, still reads it.
    expect(allowed(await callA(`${api}${path}`)).body).toBe(fromA.body);
  });

  it('does not reuse for a cross-origin fetch what a tab on the API loaded without Origin, from Fastify or from the cached front', async () => {
    const created = JSON.parse(
      allowed(await callA(`${api}/v1/assessments`, { method: 'POST', headers: JSON_POST, body: submission(QUESTIONS, 'tab', 5) })).body,
    );
    const paths = ['/v1/sources', `/v1/assessments/${created.id}`];
    // A first browser loads each URL in a tab: Fastify answers, and the cached front keeps the answer.
    const primer = await browser.newContext();
    const tabs = await browser.newContext();
    try {
      for (const path of paths) {
        const primed = await (await primer.newPage()).goto(`${api}${path}`);
        expect(primed?.status(), path).toBe(200);
        // Then a tab in the frontend's browser: the cached front answers, without Access-Control-*.
        const answered = app.cachedFront.answered;
        const mark = wire.mark();
        const tab = await (await tabs.newPage()).goto(`${api}${path}`);
        expect(tab?.status(), path).toBe(200);
        expect(app.cachedFront.answered, `${path} answered by the cached front`).toBe(answered + 1);
        const [loaded] = exchangesOf(mark, 'GET', path);
        expect(loaded?.requestHeaders.origin, path).toBeUndefined();
        expect(loaded?.responseHeaders['access-control-allow-origin'], path).toBeUndefined();
        expect(varyFields(loaded), path).toContain('origin');
      }
      const { call } = await openFrontend(tabs, a);
      for (const path of paths) {
        const mark = wire.mark();
        const read = allowed(await call(`${api}${path}`));
        expect(read.status, path).toBe(200);
        expect(JSON.parse(read.body), path).toEqual(await reference(path));
        const [sent] = exchangesOf(mark, 'GET', path);
        expect(sent?.requestHeaders.origin, path).toBe(a.origin);
        expect(sent?.responseHeaders['access-control-allow-origin'], path).toBe(a.origin);
      }
    } finally {
      await primer.close();
      await tabs.close();
    }
  });

  it('decodes each content coding the browser negotiates: br by default, gzip and identity when asked', async () => {
    const path = '/v1/roles/engineering-manager';
    const expected = await reference(path);
    for (const [acceptEncoding, coding] of [
      [undefined, 'br'],
      ['gzip', 'gzip'],
      ['gzip;q=0.5, br;q=0', 'gzip'],
      ['identity', undefined],
    ] as const) {
      const own = await browser.newContext(acceptEncoding === undefined ? {} : { extraHTTPHeaders: { 'accept-encoding': acceptEncoding } });
      try {
        const { call } = await openFrontend(own, a);
        const mark = wire.mark();
        const read = allowed(await call(`${api}${path}`));
        const [sent] = exchangesOf(mark, 'GET', path);
        const label = `Accept-Encoding: ${sent?.requestHeaders['accept-encoding']}`;
        if (acceptEncoding !== undefined) expect(sent?.requestHeaders['accept-encoding'], label).toBe(acceptEncoding);
        expect(sent?.responseHeaders['content-encoding'], label).toBe(coding);
        expect(read.status, label).toBe(200);
        expect(JSON.parse(read.body), label).toEqual(expected);
        if (coding === undefined) expect(read.headers.etag, label).toMatch(/^"[^"]+[^"](?<!-br|-gzip)"$/);
        else expect(read.headers.etag, label).toMatch(new RegExp(`^"[^"]+-${coding}"$`));
        // The compressed variants are smaller on the wire than the JSON the page reads.
        const length = Number(sent?.responseHeaders['content-length']);
        if (coding !== undefined) expect(length, label).toBeLessThan(Buffer.byteLength(read.body));
        else expect(length, label).toBe(Buffer.byteLength(read.body));
      } finally {
        await own.close();
      }
    }
  });

  // Guards against: a URL the router refuses (FST_ERR_BAD_URL) answered in frameworkErrors before
  // the CORS hook ran, so its preflight got the 400 problem instead of a 204 and the browser reported
  // a CORS error for any preflighted call to that path, never showing the page the 400.
  it('answers a preflight on a path with broken percent-encoding with 204, so the page reads the bad-url problem', async () => {
    const path = '/v1/roles/100%-lead';
    const mark = wire.mark();
    const read = await callA(`${api}${path}`, { headers: { 'if-none-match': '"stale"' } });
    const [preflight] = exchangesOf(mark, 'OPTIONS', path);
    expect(preflight?.status, 'the preflight is answered like any other: 204').toBe(204);
    expect(read, 'the page reads the 400 bad-url problem').toMatchObject({ ok: true, status: 400 });
    expect(JSON.parse(allowed(read).body).code).toBe('bad-url');
  });
});

describe('a rate-limited frontend (CORS_ORIGINS=*, RATE_LIMIT_MAX=3) in Chromium', () => {
  let browser: Browser;
  let frontend: Frontend;
  let app: App;
  let api: string;
  let wire: ReturnType<typeof recordExchanges>;
  let call: Caller;

  beforeAll(async () => {
    frontend = await serveFrontend();
    app = await buildTestApp({ corsOrigins: '*', rateLimit: { enabled: true, max: 3, windowMs: 60_000 } });
    wire = recordExchanges(app.server);
    ({ base: api } = await listenLocally(app));
    browser = await launchChromium();
    call = (await openFrontend(await browser.newContext(), frontend)).call;
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await frontend?.close();
  });

  const post = (key: string, seed: number) =>
    call(`${api}/v1/assessments`, {
      method: 'POST',
      headers: { ...JSON_POST, 'idempotency-key': key },
      body: submission(QUESTIONS, 'limited', seed),
    });

  it('counts writes, not preflights: three preflighted POSTs are stored, the fourth gets a readable 429 with Retry-After', async () => {
    const mark = wire.mark();
    for (let i = 0; i < 3; i++) expect(allowed(await post(`limited-${i}`, i)).status, `write ${i + 1}`).toBe(201);
    const options = wire.since(mark).filter((e) => e.method === 'OPTIONS');
    expect(options.length).toBeGreaterThan(0);
    expect(options[0]?.responseHeaders['access-control-allow-origin']).toBe('*');

    const limited = allowed(await post('limited-3', 3));
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toBe('application/problem+json');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    const problem = JSON.parse(limited.body);
    expect(problem).toMatchObject({ status: 429, code: 'rate-limited' });
    expect(problem.requestId).toBe(limited.headers['x-request-id']);
    // Reads are not limited.
    expect(allowed(await call(`${api}/v1/roles`)).status).toBe(200);
  });

  it('sends X-RateLimit-Limit, -Remaining and -Reset on every write (as seen on the wire)', async () => {
    const mark = wire.mark();
    await post('limited-wire', 9);
    const [sent] = wire.since(mark).filter((e) => e.method === 'POST');
    expect(sent?.responseHeaders).toMatchObject({
      'x-ratelimit-limit': '3',
      'x-ratelimit-remaining': expect.stringMatching(/^\d+$/),
      'x-ratelimit-reset': expect.stringMatching(/^\d+$/),
    });
  });

  // Guards against: rate-limit headers sent on every write but left out of
  // Access-Control-Expose-Headers, so a page could not pace itself before it got a 429.
  it('lets the page read X-RateLimit-Limit, -Remaining and -Reset', async () => {
    const read = allowed(await post('limited-read', 10));
    expect(read.headers).toMatchObject({
      'x-ratelimit-limit': '3',
      'x-ratelimit-remaining': expect.stringMatching(/^\d+$/),
      'x-ratelimit-reset': expect.stringMatching(/^\d+$/),
    });
  });

  // Guards against: a request line or headers over Node's 16 KiB limit answered with a problem that
  // had no CORS headers, so the page's fetch() failed as if the API were down. The headers were never
  // read, so only CORS_ORIGINS=* (the same answer for every origin) can allow it; with a list of
  // origins the page still sees a network error.
  it('lets the page read the 414 for a URL longer than 16 KB', async () => {
    const path = `/v1/competencies?q=${'a'.repeat(17_000)}`;
    const raw = await get(api, path, { origin: frontend.origin });
    expect(raw.status).toBe(414);
    const read = allowed(await call(`${api}${path}`, { cache: 'no-store' }));
    expect(read.status).toBe(414);
    const problem = JSON.parse(read.body);
    expect(problem).toMatchObject({ status: 414, code: 'uri-too-long' });
    expect(problem.requestId).toBe(read.headers['x-request-id']);
  });
});
