import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CachedFront } from '../src/cached-front.js';
import { agent, type Got, get, listening, postJson } from './support/http.js';

afterAll(() => agent.destroy());

/** Header pairs in the order sent, without the two that differ between any two responses. */
const stable = (headers: string[]) => {
  const pairs: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    if (name !== 'date' && name !== 'x-request-id') pairs.push(`${name}: ${headers[i + 1]}`);
  }
  return pairs;
};
const requestId = (got: Got) => got.headers[got.headers.findIndex((h) => h.toLowerCase() === 'x-request-id') + 1];

const CACHED_PATHS = [
  '/v1/roles',
  '/v1/roles/tech-lead',
  '/v1/roles/engineering-manager?companySize=startup',
  '/v1/comparisons?roles=tech-lead,engineering-manager',
  '/v1/comparisons?roles=tech-lead,engineering-manager&companySize=big-tech',
  '/v1/competencies?category=people',
  // A page of a list, with its Link header.
  '/v1/competencies?category=people&limit=2&offset=2',
  '/v1/assessment/questions',
  '/v1/company-sizes',
  '/v1/company-sizes/startup',
  '/v1/sources',
  '/v1/sources/article-three-differences',
  '/v1/meta',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('the cached front of a listening server', () => {
  let server: Awaited<ReturnType<typeof listening>>;
  beforeAll(async () => {
    server = await listening();
  });
  afterAll(async () => {
    await server.app.close();
  });

  it('repeats each cached 200 without Fastify, with the headers and body Fastify sent and a new request id', async () => {
    for (const path of CACHED_PATHS) {
      for (const acceptEncoding of [undefined, 'gzip', 'br, gzip']) {
        const headers: Record<string, string> = acceptEncoding ? { 'accept-encoding': acceptEncoding } : {};
        const before = server.routed();
        const first = await get(server.base, path, headers);
        expect(first.status, path).toBe(200);
        expect(server.routed(), path).toBe(before + 1);
        const again = await get(server.base, path, headers);
        expect(server.routed(), `${path} (${acceptEncoding}) was routed again`).toBe(before + 1);
        expect(again.status).toBe(200);
        expect(stable(again.headers), path).toEqual(stable(first.headers));
        expect(again.body.equals(first.body), path).toBe(true);
        expect(requestId(again)).toMatch(UUID);
        expect(requestId(again)).not.toBe(requestId(first));
      }
    }
  });

  it('answers by URL and content coding: another coding or another query goes to Fastify once', async () => {
    const path = '/v1/roles/tech-lead?companySize=scale-up';
    const plain = await get(server.base, path);
    const before = server.routed();
    const gzip = await get(server.base, path, { 'accept-encoding': 'gzip' });
    expect(gzip.headers).toContain('gzip');
    expect(server.routed()).toBe(before + 1);
    const other = await get(server.base, '/v1/roles/tech-lead?companySize=startup');
    expect(other.status).toBe(200);
    expect(other.body.equals(plain.body)).toBe(false);
    expect(server.routed()).toBe(before + 2);
    expect((await get(server.base, path)).body.equals(plain.body)).toBe(true);
    expect(server.routed()).toBe(before + 2);
  });

  it('leaves to Fastify requests with an Origin, an If-None-Match, an If-Match or a body, and other methods', async () => {
    const path = '/v1/roles/tech-lead';
    const cached = await get(server.base, path);
    const etag = cached.headers[cached.headers.indexOf('etag') + 1]!;
    const cases: [string, () => Promise<Got>, (got: Got) => void][] = [
      [
        'Origin',
        () => get(server.base, path, { origin: 'https://app.example' }),
        (got) => expect(got.headers).toContain('access-control-allow-origin'),
      ],
      ['If-None-Match', () => get(server.base, path, { 'if-none-match': etag }), (got) => expect(got.status).toBe(304)],
      ['If-Match', () => get(server.base, path, { 'if-match': '"other"' }), (got) => expect(got.status).toBe(412)],
      ['HEAD', () => get(server.base, path, {}, 'HEAD'), (got) => expect(got.status).toBe(200)],
      [
        'a body',
        () => get(server.base, path, { 'content-type': 'application/json', 'content-length': '2' }, 'GET', '{}'),
        (got) => expect(got.status).toBe(200),
      ],
    ];
    for (const [what, send, check] of cases) {
      const before = server.routed();
      check(await send());
      expect(server.routed(), what).toBe(before + 1);
    }
  });

  it('reads stored assessments before routing once Fastify has sent one, with the same headers', async () => {
    const questions = server.app.kb.data.questions;
    const stored: { id: string; body: Buffer }[] = [];
    for (let n = 0; n < 3; n++) {
      const body = JSON.stringify({ answers: questions.map((q, i) => ({ questionId: q.id, value: ((i + n) % 5) + 1 })) });
      const created = await postJson(server.base, '/v1/assessments', body);
      expect(created.status).toBe(201);
      stored.push({ id: (JSON.parse(created.body.toString()) as { id: string }).id, body: created.body });
    }
    const [first, second, third] = stored as [(typeof stored)[0], (typeof stored)[0], (typeof stored)[0]];
    const before = server.routed();
    const routed = await get(server.base, `/v1/assessments/${first.id}`);
    expect(routed.status).toBe(200);
    expect(server.routed()).toBe(before + 1);
    const again = await get(server.base, `/v1/assessments/${first.id}`);
    expect(server.routed()).toBe(before + 1);
    expect(stable(again.headers)).toEqual(stable(routed.headers));
    expect(again.body.equals(first.body)).toBe(true);
    expect(requestId(again)).toMatch(UUID);
    expect(requestId(again)).not.toBe(requestId(routed));
    // Another id, never read through Fastify: answered here, with its own body and length.
    for (const other of [second, third]) {
      const read = await get(server.base, `/v1/assessments/${other.id}`);
      expect(read.status).toBe(200);
      expect(read.body.equals(other.body)).toBe(true);
      expect(read.headers[read.headers.indexOf('content-length') + 1]).toBe(String(other.body.length));
    }
    expect(server.routed()).toBe(before + 1);
  });

  it('leaves to Fastify every read of an assessment that it would not answer 200 as stored', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const [path, status] of [
      [`/v1/assessments/${unknown}`, 404],
      [`/v1/assessments/${unknown.toUpperCase()}`, 404],
      ['/v1/assessments/not-an-id', 400],
      // A query is refused by the route (it takes none), never answered by the front.
      [`/v1/assessments/${unknown}?x=1`, 400],
      // A path of its own for POST: a 405 from the not-found handler.
      ['/v1/assessments/batch', 405],
    ] as const) {
      const before = server.routed();
      expect((await get(server.base, path)).status, path).toBe(status);
      expect(server.routed(), path).toBe(before + 1);
    }
  });

  it('never repeats an error: a 404 or a 400 goes to Fastify every time', async () => {
    for (const path of ['/v1/roles/nobody', '/v1/roles/tech-lead?companySize=huge']) {
      const before = server.routed();
      for (let i = 0; i < 2; i++) expect((await get(server.base, path)).status).toBeGreaterThanOrEqual(400);
      expect(server.routed(), path).toBe(before + 2);
    }
  });
});

describe('when the cached front opens', () => {
  let server: Awaited<ReturnType<typeof listening>> | undefined;
  afterEach(async () => {
    await server?.app.close();
    server = undefined;
  });

  it('opens when the server logs only warnings and errors', async () => {
    server = await listening({ logger: { level: 'warn', stream: { write: () => {} } } });
    for (let i = 0; i < 3; i++) expect((await get(server.base, '/v1/roles')).status).toBe(200);
    expect(server.routed()).toBe(1);
  });

  it('sends every request to Fastify while requests are logged', async () => {
    server = await listening({ logger: { level: 'info', stream: { write: () => {} } } });
    for (let i = 0; i < 3; i++) expect((await get(server.base, '/v1/roles')).status).toBe(200);
    expect(server.routed()).toBe(3);
  });

  it('lets Fastify shed load: a cached read answers 503 while the event loop is blocked', { timeout: 30_000 }, async () => {
    server = await listening({ maxEventLoopDelayMs: 10 });
    const { base } = server;
    expect((await get(base, '/v1/roles')).status).toBe(200);
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        // Block the event loop.
      }
    };
    const blocker = setInterval(() => busy(300), 20);
    try {
      const deadline = Date.now() + 15_000;
      let status = 200;
      while (status !== 503 && Date.now() < deadline) status = (await get(base, '/v1/roles')).status;
      expect(status).toBe(503);
    } finally {
      clearInterval(blocker);
    }
  });
});

describe('CachedFront', () => {
  const message = (url: string, headers: Record<string, string> = {}, method = 'GET') =>
    ({ url, method, headers }) as unknown as IncomingMessage;
  const response = () => {
    const written: { status?: number; headers?: string[]; body?: Buffer } = {};
    const res = {
      writeHead: (status: number, headers: string[]) => Object.assign(written, { status, headers }),
      end: (body: Buffer) => Object.assign(written, { body }),
    } as unknown as ServerResponse;
    return { res, written };
  };
  const headers = { 'x-request-id': 'first', etag: '"a"', 'content-type': 'application/json; charset=utf-8', 'content-length': 99 };
  const sent = (statusCode: number) => ({ statusCode, getHeaders: () => headers });

  it('neither keeps nor answers anything until opened, and answers nothing once closed or under pressure', () => {
    const front = new CachedFront();
    front.remember(message('/v1/roles'), 'identity', sent(200), Buffer.from('{}'));
    let pressure = false;
    front.open(() => pressure);
    expect(front.answer(message('/v1/roles'), response().res)).toBe(false);
    front.remember(message('/v1/roles'), 'identity', sent(200), Buffer.from('{}'));
    const { res, written } = response();
    expect(front.answer(message('/v1/roles'), res)).toBe(true);
    expect(written.status).toBe(200);
    expect(written.headers).toEqual([
      'x-request-id',
      written.headers?.[1],
      'etag',
      '"a"',
      'content-type',
      'application/json; charset=utf-8',
      'content-length',
      '2',
    ]);
    expect(written.headers?.[1]).toMatch(UUID);
    expect(written.body?.toString()).toBe('{}');
    pressure = true;
    expect(front.answer(message('/v1/roles'), response().res)).toBe(false);
    pressure = false;
    front.close();
    expect(front.answer(message('/v1/roles'), response().res)).toBe(false);
    expect(front.answered).toBe(1);
  });

  it('keeps at most its limit of answers, dropping the least recently stored', () => {
    const front = new CachedFront(2);
    front.open(() => false);
    for (const url of ['/a', '/b', '/c']) front.remember(message(url), 'identity', sent(200), Buffer.from(url));
    expect(front.answer(message('/a'), response().res)).toBe(false);
    expect(front.answer(message('/b'), response().res)).toBe(true);
    expect(front.answer(message('/c'), response().res)).toBe(true);
  });

  // Guards against: the limit counted answers only, so spellings of one URL (/docs/%79aml), each
  // remembered after the response cache had dropped and built the body again, kept a copy each.
  it('keeps at most its limit of bytes, dropping the least recently stored, and nothing larger than the limit', () => {
    // Each answer counts its body and its key, the coding and the URL: `identity /a` is 11 bytes.
    const front = new CachedFront(100, 40);
    front.open(() => false);
    for (const url of ['/a', '/b', '/c']) front.remember(message(url), 'identity', sent(200), Buffer.alloc(4, url));
    expect(['/a', '/b', '/c'].map((url) => front.answer(message(url), response().res))).toEqual([false, true, true]);
    // Storing a URL again replaces its answer, and its bytes: 15 + 26 is over 40.
    front.remember(message('/c'), 'identity', sent(200), Buffer.alloc(15));
    expect(['/b', '/c'].map((url) => front.answer(message(url), response().res))).toEqual([false, true]);
    front.remember(message('/b'), 'identity', sent(200), Buffer.alloc(3));
    expect(['/b', '/c'].map((url) => front.answer(message(url), response().res))).toEqual([true, true]);
    // 13 bytes of key and 28 of body are over the limit alone.
    front.remember(message('/big'), 'identity', sent(200), Buffer.alloc(28));
    expect(['/big', '/b', '/c'].map((url) => front.answer(message(url), response().res))).toEqual([false, true, true]);
  });

  // Guards against: keys were not counted, so 2,000 answers to 16 KB spellings of one small list
  // (`?limit=000…050`) held 32 MB of keys beyond the limit.
  it('counts the URL of each answer against its limit of bytes', () => {
    const front = new CachedFront(100, 40);
    front.open(() => false);
    const [long, longer] = [`/a?limit=${'0'.repeat(18)}5`, `/a?limit=${'0'.repeat(19)}5`];
    front.remember(message(long), 'identity', sent(200), Buffer.alloc(1));
    expect(front.answer(message(long), response().res)).toBe(true);
    front.remember(message(longer), 'identity', sent(200), Buffer.alloc(1));
    expect([long, longer].map((url) => front.answer(message(url), response().res))).toEqual([false, true]);
  });

  it('stores nothing for requests it would not answer, nor any status but 200', () => {
    const front = new CachedFront();
    front.open(() => false);
    front.remember(message('/a', { origin: 'https://app.example' }), 'identity', sent(200), Buffer.from('a'));
    front.remember(message('/b', {}, 'HEAD'), 'identity', sent(200), Buffer.from('b'));
    front.remember(message('/c'), 'identity', sent(203), Buffer.from('c'));
    for (const url of ['/a', '/b', '/c']) expect(front.answer(message(url), response().res), url).toBe(false);
  });
});
