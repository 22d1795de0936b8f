import { Writable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type App, buildApp } from '../src/app.js';
import { costlyStructure, MAX_JSON_ELEMENTS, MAX_JSON_MEMBERS, MAX_JSON_NAMES, MAX_JSON_VALUES } from '../src/json-body.js';
import { buildTestApp } from './helpers.js';
import { document, operations, responseProblems } from './support/openapi.js';
import { countStatements } from './support/statements.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const SECURITY_HEADERS: [string, RegExp][] = [
  ['x-content-type-options', /^nosniff$/],
  ['x-frame-options', /^DENY$/],
  ['content-security-policy', /frame-ancestors 'none'/],
  ['strict-transport-security', /^max-age=\d{7,}/],
  ['referrer-policy', /^(no-referrer|strict-origin-when-cross-origin|same-origin)$/],
];

function expectSecurityHeaders(response: LightMyRequestResponse) {
  for (const [name, pattern] of SECURITY_HEADERS) {
    expect(String(response.headers[name] ?? '(missing)'), `${name} on a ${response.statusCode}`).toMatch(pattern);
  }
  expect(String(response.headers['x-request-id'] ?? ''), `x-request-id on a ${response.statusCode}`).toMatch(/\S/);
}

function answersFor(app: App, offset = 0) {
  return app.kb.data.questions.map((q, i) => ({ questionId: q.id, value: ((i + offset) % 5) + 1 }));
}

const json = (payload: unknown, headers: Record<string, string> = {}) => ({
  headers: { 'content-type': 'application/json', ...headers },
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
});

/** Captures what a pino logger writes, one JSON line per entry. */
function memoryLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return { lines, stream, text: () => lines.join('\n') };
}

describe('security headers', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('are on a 200 from a knowledge-base route, and on its 304', async () => {
    const ok = await app.inject('/v1/roles');
    expect(ok.statusCode).toBe(200);
    expectSecurityHeaders(ok);
    const notModified = await app.inject({ url: '/v1/roles', headers: { 'if-none-match': String(ok.headers.etag) } });
    expect(notModified.statusCode).toBe(304);
    expectSecurityHeaders(notModified);
  });

  it('are on a 201 from POST /v1/assessments', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/assessments', ...json({ answers: answersFor(app) }) });
    expect(created.statusCode).toBe(201);
    expectSecurityHeaders(created);
  });

  it('are on a 400 validation error, a 404, a 413, a 415 and a 422', async () => {
    const cases: [number, Promise<LightMyRequestResponse>][] = [
      [400, app.inject('/v1/roles?limit=0')],
      [404, app.inject('/v1/roles/no-such-role')],
      [404, app.inject('/nowhere')],
      [413, app.inject({ method: 'POST', url: '/v1/assessments', ...json({ answers: [], pad: 'x'.repeat(300 * 1024) }) })],
      [415, app.inject({ method: 'POST', url: '/v1/assessments', headers: { 'content-type': 'text/plain' }, payload: 'hello' })],
      [422, app.inject({ method: 'POST', url: '/v1/assessments', ...json({ answers: [{ questionId: 'no-such-question', value: 3 }] }) })],
    ];
    for (const [status, pending] of cases) {
      const response = await pending;
      expect(response.statusCode).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expectSecurityHeaders(response);
    }
  });

  it('are on a 400 for a URL the router cannot decode (bad percent-encoding, over-long segment)', async () => {
    for (const url of ['/v1/roles/%E0%A4%A', '/v1/roles/%', `/v1/assessments/${'a'.repeat(600)}`]) {
      const response = await app.inject(url);
      expect(response.statusCode, url).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expectSecurityHeaders(response);
      expect(response.json().requestId).toBe(response.headers['x-request-id']);
    }
  });

  it('keep framing forbidden on the browsable docs too', async () => {
    const docs = await app.inject('/docs/');
    expect(docs.statusCode).toBeLessThan(400);
    expect(docs.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(docs.headers['x-frame-options']).toBe('DENY');
  });
});

describe('CORS', () => {
  it('allows any origin by default', async () => {
    const app = await buildTestApp();
    try {
      const response = await app.inject({ url: '/v1/roles', headers: { origin: 'https://anything.example' } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBe('*');
      // Browsers may read the headers a client needs.
      expect(String(response.headers['access-control-expose-headers']).toLowerCase()).toContain('etag');
      const preflight = await app.inject({
        method: 'OPTIONS',
        url: '/v1/assessments',
        headers: {
          origin: 'https://anything.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,idempotency-key',
        },
      });
      expect(preflight.statusCode).toBeLessThan(300);
      expect(preflight.headers['access-control-allow-origin']).toBe('*');
      expect(String(preflight.headers['access-control-allow-headers']).toLowerCase()).toContain('idempotency-key');
    } finally {
      await app.close();
    }
  });

  it('sends Access-Control-* headers only to requests with an Origin, and varies every response on Origin', async () => {
    const app = await buildTestApp();
    try {
      const created = await app.inject({ method: 'POST', url: '/v1/assessments', ...json({ answers: answersFor(app) }) });
      expect(created.statusCode).toBe(201);
      // Each request with the exact Vary it gets.
      const requests: { method?: 'GET' | 'POST'; url: string; headers?: Record<string, string>; payload?: string; vary: string }[] = [
        { url: '/v1/roles/tech-lead', vary: 'Origin, Accept-Encoding' },
        { url: '/v1/roles/tech-lead', headers: { 'accept-encoding': 'gzip' }, vary: 'Origin, Accept-Encoding' },
        { url: String(created.headers.location), vary: 'Origin' },
        { url: '/v1/nothing-here', vary: 'Origin' },
        { url: '/v1/roles/%E0%A4%A', vary: 'Origin' },
        { url: '/health', vary: 'Origin' },
        { method: 'POST', url: '/v1/assessments', ...json({ answers: answersFor(app, 1) }), vary: 'Origin' },
      ];
      for (const request of requests) {
        const plain = await app.inject(request);
        const name = `${request.method ?? 'GET'} ${request.url} ${plain.statusCode}`;
        expect(
          Object.keys(plain.headers).filter((h) => h.startsWith('access-control-')),
          name,
        ).toEqual([]);
        expect(plain.headers.vary, name).toBe(request.vary);
        const cors = await app.inject({ ...request, headers: { ...request.headers, origin: 'https://tools.example' } });
        expect(cors.statusCode, name).toBe(plain.statusCode);
        expect(cors.headers.vary, name).toBe(request.vary);
        expect(cors.headers['access-control-allow-origin'], name).toBe('*');
        expect(String(cors.headers['access-control-expose-headers']).toLowerCase(), name).toContain('x-request-id');
      }
    } finally {
      await app.close();
    }
  });

  it('answers a preflight with 204 before any route work, and any other OPTIONS with what the path takes', async () => {
    const app = await buildTestApp();
    try {
      const statements = countStatements();
      onTestFinished(statements.restore);
      const before = statements.count;
      const preflight = await app.inject({
        method: 'OPTIONS',
        url: '/v1/assessments/00000000-0000-4000-8000-000000000000',
        headers: {
          origin: 'https://tools.example',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'if-none-match',
        },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.body).toBe('');
      // RFC 9110: no Content-Length on a 204.
      expect(preflight.headers['content-length']).toBeUndefined();
      expect(preflight.headers['access-control-allow-origin']).toBe('*');
      expect(preflight.headers['access-control-allow-methods']).toBe('GET, HEAD, POST, DELETE, OPTIONS');
      expect(preflight.headers['access-control-allow-headers']).toBe('if-none-match');
      expect(preflight.headers['access-control-max-age']).toBe('600');
      expect(preflight.headers['access-control-expose-headers']).toBeUndefined();
      expect(preflight.headers.vary).toBe('Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
      expectSecurityHeaders(preflight);
      expect(statements.count).toBe(before);
      // On any path, known or not: the preflight is answered before routing matters.
      const unknown = await app.inject({
        method: 'OPTIONS',
        url: '/v1/nothing-here',
        headers: { origin: 'https://tools.example', 'access-control-request-method': 'GET' },
      });
      expect(unknown.statusCode).toBe(204);
      for (const headers of [{}, { origin: 'https://tools.example' }, { 'access-control-request-method': 'GET' }]) {
        const plain = await app.inject({ method: 'OPTIONS', url: '/v1/roles', headers });
        expect([plain.statusCode, plain.headers.allow], JSON.stringify(headers)).toEqual([204, 'GET, HEAD, OPTIONS']);
        expect(plain.headers['access-control-allow-methods']).toBeUndefined();
        const nowhere = await app.inject({ method: 'OPTIONS', url: '/v1/nothing-here', headers });
        expect(nowhere.statusCode, JSON.stringify(headers)).toBe(404);
        expect(nowhere.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(nowhere.headers['access-control-allow-methods']).toBeUndefined();
      }
    } finally {
      await app.close();
    }
  });

  describe('with an allow-list', () => {
    let app: App;
    beforeAll(async () => {
      app = await buildTestApp({ corsOrigins: ['https://hr.example'] });
    });
    afterAll(async () => {
      await app.close();
    });

    it('echoes only the listed origin', async () => {
      const allowed = await app.inject({ url: '/v1/roles', headers: { origin: 'https://hr.example' } });
      expect(allowed.headers['access-control-allow-origin']).toBe('https://hr.example');
      expect(String(allowed.headers.vary).toLowerCase()).toContain('origin');
      for (const origin of ['https://evil.example', 'https://hr.example.evil.example', 'http://hr.example', 'null']) {
        const refused = await app.inject({ url: '/v1/roles', headers: { origin } });
        expect(refused.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
    });

    it('answers the preflight of POST /v1/assessments with Content-Type and Idempotency-Key for the listed origin only', async () => {
      const preflight = (origin: string) =>
        app.inject({
          method: 'OPTIONS',
          url: '/v1/assessments',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,idempotency-key' },
        });
      const ok = await preflight('https://hr.example');
      expect(ok.statusCode).toBeLessThan(300);
      expect(ok.headers['access-control-allow-origin']).toBe('https://hr.example');
      // The API takes no credentials (README): a listed origin is never told it may send them.
      expect(ok.headers['access-control-allow-credentials']).toBeUndefined();
      expect(String(ok.headers['access-control-allow-methods'])).toContain('POST');
      const allowedHeaders = String(ok.headers['access-control-allow-headers']).toLowerCase();
      expect(allowedHeaders).toContain('content-type');
      expect(allowedHeaders).toContain('idempotency-key');
      const evil = await preflight('https://evil.example');
      expect(evil.statusCode).toBe(204);
      expect(Object.keys(evil.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    });
  });
});

describe('assessments cannot be listed or guessed', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('has no route that lists stored assessments', async () => {
    await app.inject({ method: 'POST', url: '/v1/assessments', ...json({ answers: answersFor(app) }) });
    // The path takes POST only: a GET is a 405, never a list.
    for (const url of ['/v1/assessments', '/v1/assessments?limit=10', '/v1/assessments?offset=0']) {
      const response = await app.inject(url);
      expect([response.statusCode, response.headers.allow], url).toEqual([405, 'POST, OPTIONS']);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).not.toHaveProperty('items');
    }
    // With a trailing slash the path matches no route.
    const empty = await app.inject('/v1/assessments/');
    expect(empty.statusCode).toBe(404);
    expect(empty.json()).not.toHaveProperty('items');
    expect(operations().filter((op) => op.method === 'GET' && op.path === '/v1/assessments')).toEqual([]);
    // No documented GET answers with a list of Assessment objects.
    const listsAssessments = Object.entries(
      document.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>,
    ).filter(([, item]) => item.get && JSON.stringify(item.get.responses['200'] ?? {}).match(/"items"[^}]*Assessment"/));
    expect(listsAssessments).toEqual([]);
  });

  it('gives 200 assessments distinct random UUID v4 ids that do not follow creation order', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const response = await app.inject({ method: 'POST', url: '/v1/assessments', ...json({ answers: answersFor(app, i) }) });
      expect(response.statusCode).toBe(201);
      const { id } = response.json();
      expect(response.headers.location).toBe(`/v1/assessments/${id}`);
      ids.push(id);
    }
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
    // Sorted ids are not the creation order, and consecutive ids are not close to one another.
    expect([...ids].sort()).not.toEqual(ids);
    const ascents = ids.slice(1).filter((id, i) => id > (ids[i] as string)).length;
    expect(ascents).toBeGreaterThan(60);
    expect(ascents).toBeLessThan(140);
    const prefixes = new Set(ids.map((id) => id.slice(0, 4)));
    expect(prefixes.size).toBeGreaterThan(150);
    // A stored id reads back; a neighbour of it does not exist.
    const first = ids[0] as string;
    expect((await app.inject(`/v1/assessments/${first}`)).statusCode).toBe(200);
    const last = first.at(-1) === '0' ? '1' : '0';
    expect((await app.inject(`/v1/assessments/${first.slice(0, -1)}${last}`)).statusCode).toBe(404);
  });
});

describe('JSON nesting limit', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  /** A body whose `respondent` holds `depth` nested arrays: nesting depth of the body is depth + 1. */
  const nested = (depth: number, extra: Record<string, unknown> = {}) =>
    `{"answers":[],${Object.entries(extra)
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`)
      .join('')}"respondent":${'['.repeat(depth)}${']'.repeat(depth)}}`;

  it.each(['/v1/assessments', '/v1/assessments/preview'])(
    'refuses %s bodies nested deeper than 32 levels before validating them',
    async (url) => {
      const response = await app.inject({ method: 'POST', url, ...json(nested(32)) });
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json().detail).toBe('The body is nested more than 32 levels deep.');
      expect(response.json().errors).toEqual([{ field: 'body', message: 'is nested more than 32 levels deep' }]);
      expectSecurityHeaders(response);
    },
  );

  it('counts nested objects as it counts nested arrays', async () => {
    const objects = (depth: number) => `{"answers":[],"respondent":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const over = await app.inject({ method: 'POST', url: '/v1/assessments', ...json(objects(32)) });
    expect(over.statusCode).toBe(400);
    expect(over.json().detail).toBe('The body is nested more than 32 levels deep.');
    const at = await app.inject({ method: 'POST', url: '/v1/assessments', ...json(objects(31)) });
    expect([400, 422]).toContain(at.statusCode);
    expect(JSON.stringify(at.json())).not.toContain('nested more than');
  });

  it('refuses a batch whose items are nested too deep', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/assessments/batch', ...json(`{"items":[${nested(31)}]}`) });
    expect(response.statusCode).toBe(400);
    expect(response.json().detail).toBe('The body is nested more than 32 levels deep.');
  });

  it('lets a body at the limit through to validation, which names its own problems', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/assessments', ...json(nested(31)) });
    expect([400, 422]).toContain(response.statusCode);
    expect(JSON.stringify(response.json())).not.toContain('nested more than');
    expect(JSON.stringify(response.json())).toContain('respondent');
  });

  it('still refuses malformed, empty and prototype-polluting JSON', async () => {
    for (const payload of [
      '{"answers":',
      '',
      '{"__proto__":{"polluted":true},"answers":[]}',
      '{"constructor":{"prototype":{}},"answers":[]}',
    ]) {
      const response = await app.inject({ method: 'POST', url: '/v1/assessments', ...json(payload) });
      expect(response.statusCode, payload).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('JSON bodies costly to parse', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp({ maxEventLoopDelayMs: 60_000 });
  });
  afterAll(async () => {
    await app.close();
  });

  /** A JSON text padded past the size below which bodies are not scanned. */
  const padded = (inner: string) => `{"respondent":"${'x'.repeat(17_000)}",${inner}}`;
  const members = (n: number) => `"answers":[],"extra":{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')}}`;
  const elements = (n: number) => `"answers":[${Array(n).fill('{}').join(',')}]`;

  it('counts members, elements and values outside strings, escapes included, at their limits', () => {
    const bytes = (text: string) => Buffer.from(text);
    expect(costlyStructure(bytes(padded(members(MAX_JSON_MEMBERS))))).toBeUndefined();
    expect(costlyStructure(bytes(padded(members(MAX_JSON_MEMBERS + 1))))).toBe(`has an object of more than ${MAX_JSON_MEMBERS} members`);
    expect(costlyStructure(bytes(padded(elements(MAX_JSON_ELEMENTS))))).toBeUndefined();
    expect(costlyStructure(bytes(padded(elements(MAX_JSON_ELEMENTS + 1))))).toBe(`has an array of more than ${MAX_JSON_ELEMENTS} elements`);
    // Commas, brackets and escaped quotes inside strings are text, not structure.
    const inString = JSON.stringify(`"${',{['.repeat(5_000)}\\"`);
    expect(costlyStructure(bytes(`{"a":[${Array(999).fill(inString).join(',')}]}`))).toBeUndefined();
    // 400 arrays of 1,000 elements each: within every per-container limit, over the total.
    const wide = `[${Array(400)
      .fill(`[${Array(1000).fill('0').join(',')}]`)
      .join(',')}]`;
    expect(costlyStructure(bytes(wide))).toBe(`has more than ${MAX_JSON_VALUES} values`);
    // Member names are counted once each, wherever they recur (`respondent`, `answers` and `questionId`
    // besides the numbered ones); strings that are values are not names.
    const named = (n: number) => `[${Array.from({ length: n }, (_, i) => `{"n${i}":"v${i}","questionId":"q"}`).join(',')}]`;
    expect(costlyStructure(bytes(padded(`"answers":${named(MAX_JSON_NAMES - 3)}`)))).toBeUndefined();
    expect(costlyStructure(bytes(padded(`"answers":${named(MAX_JSON_NAMES - 2)}`)))).toBe(
      `has more than ${MAX_JSON_NAMES} distinct member names`,
    );
    // Unbalanced text is left for the parser to name.
    expect(costlyStructure(bytes(`]${'{'.repeat(10)}`))).toBeUndefined();
  });

  // Guards against: the counts stopped at the depth limit, so a body of 320,000 distinct names
  // wrapped in 34 brackets was parsed whole (0.37 s of the event loop) before the depth check after
  // the parse refused it.
  it('refuses nesting past the depth limit in the scan, before the counts below it stop', () => {
    const bytes = (text: string) => Buffer.from(text);
    const wrapped = (depth: number, inner: string) => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
    expect(costlyStructure(bytes(wrapped(32, '0')))).toBeUndefined();
    expect(costlyStructure(bytes(wrapped(31, '{"a":0}')))).toBeUndefined();
    expect(costlyStructure(bytes(wrapped(33, '0')))).toBe('is nested more than 32 levels deep');
    expect(costlyStructure(bytes(wrapped(32, '{"a":0}')))).toBe('is nested more than 32 levels deep');
    const distinctNames = Array.from({ length: 2000 }, (_, o) => `{${Array.from({ length: 16 }, (_, m) => `"${o}.${m}":0`).join(',')}}`);
    expect(costlyStructure(bytes(wrapped(34, distinctNames.join(','))))).toBe('is nested more than 32 levels deep');
  });

  // Guards against: 4 MiB of one object's 480,000 keys, or of 1,300,000 empty objects, were parsed
  // (0.35–0.8 s of the event loop each) and walked before the schema refused them; fifteen at once
  // held /health for 5–7 s and took the server past 500 MB.
  it.each([
    ['one object of many keys', `{"items":[],${Array.from({ length: 200_000 }, (_, i) => `"${i.toString(36)}":0`).join(',')}}`, 'members'],
    ['a list of many empty objects', `{"items":[${Array(1_000_000).fill('{}').join(',')}]}`, 'elements'],
    [
      'objects whose member names all differ',
      `{"items":[${Array.from({ length: 6 }, (_, a) => `[${Array.from({ length: 1000 }, (_, o) => `{${Array.from({ length: 16 }, (_, m) => `"${a}.${o}.${m}":0`).join(',')}}`).join(',')}]`).join(',')}]}`,
      'names',
    ],
  ])('refuses a batch of %s with a 400 before parsing it', async (_case, body, what) => {
    const started = performance.now();
    const response = await app.inject({ method: 'POST', url: '/v1/assessments/batch', ...json(body) });
    const tookMs = performance.now() - started;
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([{ field: 'body', message: expect.stringContaining(what) }]);
    expect(tookMs).toBeLessThan(1_000);
  });

  // Guards against: the scan ran before the body was decoded, so a body that was not UTF-8 was told
  // it had too many elements instead.
  it('tells a body that is not UTF-8 so first', async () => {
    const body = Buffer.concat([
      Buffer.from(`{"items":[${Array(1001).fill('0').join(',')}],"x":"`),
      Buffer.from([0xff]),
      Buffer.from(`${'y'.repeat(16_000)}"}`),
    ]);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/assessments/batch',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect([response.statusCode, response.json().code]).toEqual([400, 'malformed-body']);
  });

  it('still takes a full batch of 500 items', async () => {
    const answers = app.kb.data.questions.map((q, i) => ({ questionId: q.id, value: (i % 5) + 1 }));
    const items = Array.from({ length: 500 }, (_, n) => ({ respondent: `full-${n}`, answers }));
    const response = await app.inject({ method: 'POST', url: '/v1/assessments/batch', ...json({ items }) });
    expect(response.statusCode).toBe(200);
  });
});

describe('injection strings', () => {
  const INJECTIONS: { text: string; raw?: boolean }[] = [
    { text: "' OR '1'='1" },
    { text: '"; DROP TABLE roles; --' },
    { text: '%27%20OR%201%3D1', raw: true },
    { text: "' OR 1=1 --" },
    { text: '1; DROP TABLE assessments' },
    { text: '<script>alert(1)</script>' },
    { text: '../../../../etc/passwd' },
    { text: '..%2F..%2F..%2F..%2Fetc%2Fpasswd', raw: true },
  ];
  const enc = (i: { text: string; raw?: boolean }) => (i.raw ? i.text : encodeURIComponent(i.text));

  let app: App;
  let rolesBefore: string;
  let stored: number;
  beforeAll(async () => {
    app = await buildTestApp();
    rolesBefore = (await app.inject('/v1/roles')).body;
    stored = app.repository.countAssessments();
  });
  afterAll(async () => {
    await app.close();
  });

  function expectDocumented(url: string, response: LightMyRequestResponse) {
    expect(response.statusCode, url).toBeLessThan(500);
    expect(responseProblems('GET', url, response.statusCode, response.headers['content-type'] as string, response.body), url).toEqual([]);
    expect(response.body).not.toMatch(/SQLITE|syntax error|no such table|sqlite3/i);
  }

  it('in q find nothing, and are not echoed as markup', async () => {
    for (const injection of INJECTIONS) {
      const url = `/v1/competencies?q=${enc(injection)}`;
      const response = await app.inject(url);
      expectDocumented(url, response);
      expect(response.statusCode, url).toBe(200);
      expect(response.json().items, url).toEqual([]);
      expect(response.json().total).toBe(0);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
    }
  });

  it('in path parameters and slug filters are a 400 or a 404', async () => {
    for (const injection of INJECTIONS) {
      const value = enc(injection);
      const urls = [
        `/v1/roles/${value}`,
        `/v1/competencies/${value}`,
        `/v1/assessments/${value}`,
        `/v1/roles/tech-lead?companySize=${value}`,
        `/v1/competencies?role=${value}`,
        `/v1/comparisons?roles=tech-lead,${value}`,
        `/v1/comparisons/by-company-size?roles=${value},engineering-manager`,
      ];
      for (const url of urls) {
        const response = await app.inject(url);
        expect([400, 404], `${url} -> ${response.statusCode}`).toContain(response.statusCode);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        // An off-route traversal has no documented operation; the others are checked against theirs.
        if (!response.json().instance.startsWith('/etc')) expectDocumented(url, response);
      }
    }
  });

  it('in a submission are stored as plain text and read back verbatim', async () => {
    for (const injection of INJECTIONS) {
      const created = await app.inject({
        method: 'POST',
        url: '/v1/assessments',
        ...json({ answers: answersFor(app), respondent: injection.text }),
      });
      expect(created.statusCode).toBe(201);
      const read = await app.inject(`/v1/assessments/${created.json().id}`);
      expect(read.json().respondent).toBe(injection.text);
    }
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/assessments',
      ...json({
        answers: answersFor(app).map((a, i) => (i === 0 ? { ...a, questionId: "x' OR '1'='1" } : a)),
        companySize: "'; DROP TABLE roles; --",
      }),
    });
    expect(unknown.statusCode).toBe(400);
  });

  it('leave the tables answering as before', async () => {
    const roles = await app.inject('/v1/roles');
    expect(roles.statusCode).toBe(200);
    expect(roles.body).toBe(rolesBefore);
    expect((await app.inject('/v1/roles/tech-lead')).statusCode).toBe(200);
    expect((await app.inject('/v1/competencies')).json().total).toBe(app.kb.data.competencies.length);
    expect(app.repository.countAssessments()).toBe(stored + INJECTIONS.length);
    const ready = await app.inject('/ready');
    expect(ready.statusCode).toBe(200);
  });
});

describe('logs', () => {
  const LABEL = 'Respondent-Zebediah-Quartermaine-4471';

  it('carry request ids but never answers, respondent labels or bodies', async () => {
    const log = memoryLog();
    const app = await buildTestApp({ logger: { level: 'trace', stream: log.stream } });
    try {
      const questions = app.kb.data.questions;
      const answers = questions.map((q, i) => ({ questionId: q.id, value: (i % 5) + 1 }));
      const body = JSON.stringify({ answers, respondent: LABEL });
      const requestIds: string[] = [];
      const send = async (url: string, payload: string, headers: Record<string, string> = {}) => {
        const response = await app.inject({ method: 'POST', url, ...json(payload, headers) });
        requestIds.push(String(response.headers['x-request-id']));
        return response;
      };
      expect((await send('/v1/assessments', body, { 'idempotency-key': 'log-test-key-1' })).statusCode).toBe(201);
      expect((await send('/v1/assessments/preview', body)).statusCode).toBe(200);
      // Failing submissions: an unknown question (422) and a malformed value (400).
      const failing = JSON.stringify({ answers: [{ questionId: `q-${LABEL}`, value: 3 }], respondent: LABEL });
      expect((await send('/v1/assessments', failing)).statusCode).toBe(422);
      const malformed = JSON.stringify({ answers: [{ questionId: questions[0]?.id, value: `${LABEL}` }], respondent: LABEL });
      expect((await send('/v1/assessments', malformed)).statusCode).toBe(400);
      const batch = JSON.stringify({ items: [{ answers, respondent: LABEL }, { answers: [{ questionId: LABEL, value: 9 }] }] });
      expect((await send('/v1/assessments/batch', batch, { 'idempotency-key': 'log-test-key-2' })).statusCode).toBe(200);
      // The same key again, with another body: a 422 that must not log either body.
      expect((await send('/v1/assessments', failing, { 'idempotency-key': 'log-test-key-1' })).statusCode).toBe(422);

      const text = log.text();
      expect(log.lines.length).toBeGreaterThan(0);
      for (const id of requestIds) expect(text, `request id ${id} is logged`).toContain(id);
      expect(text).not.toContain('"answers"');
      expect(text).not.toContain('questionId');
      expect(text).not.toContain(LABEL);
      expect(text).not.toContain(body);
      expect(text).not.toContain(body.slice(0, 40));
      for (const line of log.lines) expect(() => JSON.parse(line)).not.toThrow();
    } finally {
      await app.close();
    }
  });

  // Guards against: a path decoded for the log, or an X-Forwarded-Host or -For taken on trust, put a
  // NEL (U+0085), a line separator (U+2028) or a right-to-left override in a line as they were: the JSON
  // escaping covers only controls below U+0020, and a reader that splits lines on them found the
  // client's text as a line of its own and the request's line cut in two.
  it('write what a client sent with every character that breaks or hides a line escaped again', async () => {
    const log = memoryLog();
    const app = await buildTestApp({ trustProxy: true, logger: { level: 'info', stream: log.stream } });
    try {
      const forged = '{"level":60,"msg":"forged"}';
      const path = `/v1/roles%C2%85${encodeURIComponent(forged)}%E2%80%A8x%E2%80%AEy%C2%9B`;
      const response = await app.inject({
        url: path,
        headers: { 'x-forwarded-for': '203.0.113.7\u009b[2J\u202e', 'x-forwarded-host': 'api.example\u0085z' },
      });
      expect(response.statusCode).toBe(404);
      // No line holds a character any reader could end a line on, or one that reorders what is shown.
      for (const line of log.lines) expect(line).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
      const request = log.lines.map((line) => JSON.parse(line)).find((entry) => entry.req)?.req;
      expect(request).toMatchObject({
        url: `/v1/roles%C2%85${forged}%E2%80%A8x%E2%80%AEy%C2%9B`,
        host: 'api.example%C2%85z',
        remoteAddress: '203.0.113.7%C2%9B[2J%E2%80%AE',
      });
    } finally {
      await app.close();
    }
  });

  it('record every 500 with its request id, and the response hides what went wrong', async () => {
    const log = memoryLog();
    const app = await buildApp({ databasePath: ':memory:', logger: { level: 'info', stream: log.stream } });
    const secret = 'connection to db-primary.internal:5432 refused for user hunter2';
    app.get('/boom', async () => {
      throw new Error(secret);
    });
    app.get('/boom-sync', () => {
      throw Object.assign(new TypeError(secret), { statusCode: 502, code: 'E_SECRET' });
    });
    app.get('/boom-string', async () => {
      throw secret;
    });
    await app.ready();
    try {
      for (const url of ['/boom', '/boom-sync', '/boom-string']) {
        const response = await app.inject(url);
        expect(response.statusCode, url).toBe(500);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expectSecurityHeaders(response);
        const problem = response.json();
        expect(problem).toMatchObject({ status: 500, title: expect.any(String), detail: expect.any(String), type: expect.any(String) });
        expect(problem.requestId).toBe(response.headers['x-request-id']);
        expect(problem).not.toHaveProperty('stack');
        expect(response.body).not.toContain('hunter2');
        expect(response.body).not.toContain('db-primary');
        expect(response.body).not.toContain('E_SECRET');
        expect(response.body).not.toMatch(/\n\s+at |\/work\/|node_modules|\.ts:\d+/);
        // The log has the error, at level error or above, tied to the same request id.
        const entries = log.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
        const logged = entries.filter(
          (e) => (e.level as number) >= 50 && (e.reqId === problem.requestId || e.requestId === problem.requestId),
        );
        expect(logged.length, `error log for ${url}`).toBeGreaterThan(0);
        expect(JSON.stringify(logged)).toContain('hunter2');
      }
    } finally {
      await app.close();
    }
  });
});
