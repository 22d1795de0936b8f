import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClientTypes } from '../scripts/client-types.js';
import { projectRoot } from '../src/paths.js';
import { API_SECURITY_HEADERS } from '../src/plugins/security-headers.js';
import { buildTestApp } from './helpers.js';
import { fieldsOf, injectPost, problemOf } from './support/http.js';
import { ajv, document, operations } from './support/openapi.js';

type Parameter = { name: string; in: string; schema: { default?: unknown } };
type Operation = { parameters?: Parameter[] };

/** Every documented GET that takes `limit` and `offset`. */
const paged = Object.entries(document.paths as Record<string, { get?: Operation }>)
  .filter(([, item]) => item.get?.parameters?.some((p) => p.in === 'query' && p.name === 'limit'))
  .map(([path]) => path);

describe('OpenAPI document', () => {
  let app: Awaited<ReturnType<typeof buildTestApp>>;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('is committed exactly as the app generates it (run `npm run openapi` after changing a route)', () => {
    expect(JSON.parse(JSON.stringify(app.swagger()))).toEqual(document);
  });

  it('is served at /openapi.json', async () => {
    const response = await app.inject('/openapi.json');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(document);
  });

  // Guards against: the docs page reading the document from the UI's own /docs/json, serialized on
  // every visit and sent uncompressed (111 KB) with no ETag.
  it.each(['/openapi.json', '/docs/json'])(
    'is served at %s with an ETag that answers If-None-Match, and compressed for clients that accept it',
    async (url) => {
      const first = await app.inject(url);
      const etag = first.headers.etag as string;
      expect(etag).toMatch(/^"[^"]+"$/);
      expect(first.headers['cache-control']).toMatch(/max-age=/);
      expect(first.json()).toEqual(document);
      const again = await app.inject({ url, headers: { 'if-none-match': etag } });
      expect(again.statusCode).toBe(304);
      expect(again.body).toBe('');
      const gzipped = await app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
      expect(gzipped.headers['content-encoding']).toBe('gzip');
      expect(gzipped.rawPayload.length).toBeLessThan(first.rawPayload.length / 4);
      expect(JSON.parse(gunzipSync(gzipped.rawPayload).toString())).toEqual(document);
    },
  );

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('gives every operation an operationId, tags, a summary, and the problems any request can get', () => {
    const ids = new Set<string>();
    type Operation = {
      operationId: string;
      tags?: string[];
      summary?: string;
      responses: Record<string, { content?: Record<string, unknown> }>;
    };
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, Operation>>)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
        expect(ids.has(op.operationId), `duplicate ${op.operationId}`).toBe(false);
        ids.add(op.operationId);
        expect(op.tags?.length, `${method} ${path} tags`).toBeGreaterThan(0);
        expect(op.summary, `${method} ${path} summary`).toBeTruthy();
        // 408, 414, 417, 431 and 505 are answered before routing (src/http-edges.ts), 500 and 503 by any route.
        for (const status of ['408', '414', '417', '431', '500', '503', '505']) {
          expect(op.responses[status]?.content?.['application/problem+json'], `${method} ${path} ${status}`).toBeDefined();
        }
      }
    }
  });

  // Guards against: fourteen operations had a summary alone, which names what an operation gives
  // but not what a client cannot guess (what makes /ready a 503, the CSV's rows, how to answer the questions).
  it('gives every operation a description beside its summary', () => {
    const bare = operations().filter(({ method, path }) => !document.paths[path][method.toLowerCase()].description?.trim());
    expect(bare.map(({ method, path }) => `${method} ${path}`)).toEqual([]);
  });

  // Guards against: a batch item's `status` (a zod number literal) published as `"type": "number"`,
  // which a generator for a typed language gives a floating-point field.
  it("types every whole-number constant as an integer, a batch item's status among them", () => {
    const loose: string[] = [];
    const visit = (value: unknown, at: string): void => {
      if (typeof value !== 'object' || value === null) return;
      const schema = value as { type?: unknown; const?: unknown; enum?: unknown };
      const constants = 'const' in schema ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : [];
      if (constants.length > 0 && constants.every(Number.isInteger) && schema.type !== 'integer') loose.push(at);
      for (const [key, child] of Object.entries(value)) visit(child, `${at}/${key}`);
    };
    visit(document, '#');
    expect(loose).toEqual([]);
    const outcomes = document.components.schemas.BatchResponse.properties.items.items.anyOf as { properties: { status: unknown } }[];
    expect(outcomes.map((outcome) => outcome.properties.status)).toEqual([
      { type: 'integer', const: 201 },
      { type: 'integer', enum: [400, 422] },
    ]);
  });

  // Guards against: /openapi.json was served but hidden from the document it serves.
  it('documents every route the app serves, this document included, but the docs page', () => {
    const documented = new Set(operations().map((op) => `${op.method} ${op.path}`));
    const served = servedRoutes(app.printRoutes({ commonPrefix: false }))
      .filter(({ method, path }) => method !== 'HEAD' && method !== 'OPTIONS' && !path.startsWith('/docs'))
      .map(({ method, path }) => `${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    // The tree printer's format, checked: a change to it must not leave nothing to compare.
    expect(served).toContain('POST /v1/assessments/batch');
    expect(served).toContain('GET /problems/{code}');
    expect(served).toContain('GET /openapi.json');
    expect(served.filter((op) => !documented.has(op))).toEqual([]);
    expect([...documented].filter((op) => !served.includes(op))).toEqual([]);
  });

  // DESIGN: every response is in the document. Guards against: X-Request-Id, X-RateLimit-* and the
  // 415's Accept-Encoding were sent (and exposed to pages through CORS) but declared nowhere.
  it('declares the headers the API sends on the responses that carry them', async () => {
    type Header = { $ref?: string };
    type Operation = { responses: Record<string, { headers?: Record<string, Header> }> };
    const limited = await buildTestApp({ rateLimit: { enabled: true, max: 100, windowMs: 60_000 } });
    try {
      const json = { 'content-type': 'application/json' };
      const cases: [string, string, string, Record<string, string>, string?][] = [
        ['get', '/v1/roles', '/v1/roles', {}],
        ['get', '/v1/roles/{role}', '/v1/roles/nobody', {}],
        ['post', '/v1/assessments/preview', '/v1/assessments/preview', json, '{}'],
        ['post', '/v1/assessments/preview', '/v1/assessments/preview', { ...json, 'content-encoding': 'gzip' }, '{}'],
        ['post', '/v1/assessments', '/v1/assessments', json, '{"answers":[]}'],
        ['delete', '/v1/assessments/{id}', '/v1/assessments/0b6f2a54-3c1e-4d8a-9f27-6e5d4c3b2a19', {}],
      ];
      const sent = [
        'x-request-id',
        'vary',
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
        'accept-encoding',
        'retry-after',
      ];
      const seen = new Set<string>();
      for (const [method, path, url, headers, payload] of cases) {
        const response = await limited.inject({ method: method.toUpperCase() as 'GET', url, headers, payload });
        const declared =
          (document.paths as Record<string, Record<string, Operation>>)[path]?.[method]?.responses[String(response.statusCode)]?.headers ??
          {};
        for (const name of sent.filter((header) => response.headers[header] !== undefined)) {
          seen.add(name);
          expect(declared[name], `${method} ${url} ${response.statusCode} ${name}`).toBeDefined();
          const ref = declared[name]?.$ref;
          if (ref !== undefined) expect(document.components.headers[ref.split('/').pop() as string], ref).toBeDefined();
        }
      }
      // Guards against: Vary and X-RateLimit-* were declared on the 408, 414, 417, 431, 501 and 505 that Node's
      // parser and the HTTP edges answer before any hook could add them.
      type Responses = Record<string, { headers?: Record<string, Header> }>;
      const writes = ['/v1/assessments', '/v1/assessments/preview', '/v1/assessments/batch'];
      for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, { responses: Responses }>>)) {
        for (const [method, operation] of Object.entries(item)) {
          for (const [status, response] of Object.entries(operation.responses)) {
            const early = ['408', '414', '417', '431', '501', '505'].includes(status);
            expect(response.headers?.vary === undefined, `${method} ${path} ${status}`).toBe(early);
            const counted =
              ((method === 'post' && writes.includes(path)) || (method === 'delete' && path === '/v1/assessments/{id}')) && !early;
            expect(response.headers?.['x-ratelimit-limit'] !== undefined, `${method} ${path} ${status} X-RateLimit-Limit`).toBe(counted);
          }
        }
      }
      // Each header was met at least once, so none of the checks above was vacuous.
      expect([...seen].sort()).toEqual(sent.filter((name) => name !== 'retry-after').sort());
    } finally {
      await limited.close();
    }
  });

  it('references shared schemas as components', () => {
    for (const name of ['Problem', 'Role', 'RoleDetail', 'Expectation', 'Citation', 'CompetencyList']) {
      expect(document.components.schemas[name], name).toBeDefined();
    }
    const text = JSON.stringify(document.paths);
    expect(text).toContain('"#/components/schemas/Problem"');
    expect(text).toContain('"#/components/schemas/RoleDetail"');
  });

  // Guards against (from a review): the flags were a closed enum while the README promises that later
  // scoring versions may add flags, so a client validating results by the document would refuse them.
  it("lists the known flags of a result and accepts a later version's, as a lowercase slug", async () => {
    const questions = (await app.inject('/v1/assessment/questions')).json().questions as { id: string }[];
    const answers = questions.map((q) => ({ questionId: q.id, value: 4 }));
    const preview = (await app.inject({ method: 'POST', url: '/v1/assessments/preview', payload: { answers } })).json();
    const { result } = preview;
    expect(result.flags).toEqual(['straight-lining', 'inconsistent']);
    const flags = document.components.schemas.AssessmentResult.properties.flags;
    expect(JSON.stringify(flags.items)).toContain('"enum":["incomplete","straight-lining","inconsistent","response-style"]');
    const valid = ajv.compile({ $ref: 'openapi.json#/components/schemas/AssessmentResult' });
    expect(valid(result), JSON.stringify(valid.errors)).toBe(true);
    expect(valid({ ...result, flags: [...result.flags, 'some-later-flag', 'flag-2'] })).toBe(true);
    expect(valid({ ...result, flags: ['Not A Slug'] })).toBe(false);
  });

  it('documents the caching of every read it answers 304: If-None-Match in, ETag, Cache-Control and Vary out', async () => {
    type Operation = {
      parameters?: { in: string; name: string }[];
      responses: Record<string, { headers?: Record<string, unknown> }>;
    };
    // Sent on every response, and left out of the document as HTTP hygiene, not part of the contract.
    const SECURITY = new Set(Object.keys(API_SECURITY_HEADERS));
    // A URL for each cached read: a new one without an example here fails the test.
    const examples: Record<string, string> = {
      '/v1/meta': '/v1/meta',
      '/v1/roles': '/v1/roles',
      '/v1/roles/{role}': '/v1/roles/tech-lead',
      '/v1/competencies': '/v1/competencies?category=people',
      '/v1/competencies/{competency}': '/v1/competencies/hiring',
      '/v1/company-sizes': '/v1/company-sizes',
      '/v1/company-sizes/{companySize}': '/v1/company-sizes/scale-up',
      '/v1/sources': '/v1/sources',
      '/v1/sources/{source}': '/v1/sources/qa-commonalities-and-differences',
      '/v1/comparisons': '/v1/comparisons?roles=tech-lead,engineering-manager',
      '/v1/comparisons/by-company-size': '/v1/comparisons/by-company-size?roles=tech-lead,engineering-manager',
      '/v1/assessment/questions': '/v1/assessment/questions',
      '/v1/exports/knowledge-base': '/v1/exports/knowledge-base',
      '/v1/exports/levels.csv': '/v1/exports/levels.csv',
      '/problems': '/problems',
      '/problems/{code}': '/problems/not-found',
      '/': '/',
      '/openapi.json': '/openapi.json',
    };
    // Reads with an entity tag: a stored assessment answers 304 for `*` alone (the next test).
    const cached = Object.entries(document.paths as Record<string, Record<string, Operation>>).filter(
      ([path, item]) => item.get?.responses['304'] !== undefined && path !== '/v1/assessments/{id}',
    );
    expect(cached.map(([path]) => path).sort()).toEqual(Object.keys(examples).sort());
    for (const [path, item] of cached) {
      const op = item.get as Operation;
      expect(
        op.parameters?.some((p) => p.in === 'header' && p.name === 'if-none-match'),
        path,
      ).toBe(true);
      const url = examples[path] as string;
      // Guards against: the compressed bodies' Content-Encoding, and the CSV's Content-Disposition on
      // its 304, were sent but not declared.
      for (const coding of ['identity', 'gzip']) {
        const headers = { 'accept-encoding': coding };
        const fresh = await app.inject({ url, headers });
        const again = await app.inject({ url, headers: { ...headers, 'if-none-match': String(fresh.headers.etag) } });
        expect([fresh.statusCode, again.statusCode], url).toEqual([200, 304]);
        for (const [status, response] of [
          ['200', fresh],
          ['304', again],
        ] as const) {
          const declared = Object.keys(op.responses[status]?.headers ?? {});
          expect(declared, `${path} ${status}`).toEqual(expect.arrayContaining(['etag', 'cache-control', 'vary']));
          for (const name of ['etag', 'cache-control', 'vary']) expect(response.headers[name], `${url} ${status} ${name}`).toBeTruthy();
          const sentHere = Object.keys(response.headers).filter(
            (name) => !['content-type', 'content-length', 'date', 'connection'].includes(name),
          );
          const undeclared = sentHere.filter((name) => !declared.includes(name) && !SECURITY.has(name));
          expect(undeclared, `${url} ${status} ${coding}`).toEqual([]);
          if (coding === 'gzip' && status === '200') expect(response.headers['content-encoding'], url).toBe('gzip');
        }
      }
    }
  });

  // Guards against: a 412 sent with the ETag and Cache-Control of the body it withheld, which the
  // document does not declare and which would let a cache keep the 412 as that body's answer.
  it('sends a failed If-Match 412 with the headers its document declares, no ETag or Cache-Control', async () => {
    const created = await injectPost(app, '/v1/assessments', {
      answers: app.kb.data.questions.map((q) => ({ questionId: q.id, value: 2 })),
    });
    const SECURITY = new Set(Object.keys(API_SECURITY_HEADERS));
    for (const [path, url] of [
      ['/v1/roles/{role}', '/v1/roles/tech-lead'],
      ['/v1/exports/levels.csv', '/v1/exports/levels.csv'],
      ['/v1/assessments/{id}', `/v1/assessments/${created.json().id}`],
    ] as const) {
      const response = await app.inject({ url, headers: { 'if-match': '"gone"', 'accept-encoding': 'gzip' } });
      expect(response.statusCode, url).toBe(412);
      const op = document.paths[path]?.get as { responses: Record<string, { headers?: Record<string, unknown> }> };
      const declared = Object.keys(op.responses['412']?.headers ?? {});
      const sent = Object.keys(response.headers).filter((name) => !['content-type', 'content-length', 'date', 'connection'].includes(name));
      expect(
        sent.filter((name) => !declared.includes(name) && !SECURITY.has(name)),
        url,
      ).toEqual([]);
      expect([response.headers.etag, response.headers['cache-control']], url).toEqual([undefined, undefined]);
    }
  });

  // Guards against: every POST answered If-Match 412 while the document declared no If-Match on
  // them, and gave their 412 the reads' reason (no tag of the current representation).
  it('declares If-Match on every submission, with the 412 any value of it gets', async () => {
    const answers = app.kb.data.questions.slice(0, 8).map((q) => ({ questionId: q.id, value: 2 }));
    for (const [path, body] of [
      ['/v1/assessments', { answers }],
      ['/v1/assessments/preview', { answers }],
      ['/v1/assessments/batch', { items: [{ answers }] }],
    ] as const) {
      type Post = { parameters?: { in: string; name: string }[]; responses: Record<string, { description: string }> };
      const op = document.paths[path]?.post as Post;
      expect(
        op.parameters?.some((p) => p.in === 'header' && p.name === 'if-match'),
        path,
      ).toBe(true);
      expect(op.responses['412']?.description, path).toMatch(/^An `If-Match` was sent/);
      const response = await app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/json', 'if-match': '*' },
        payload: JSON.stringify(body),
      });
      expect(response.statusCode, path).toBe(412);
    }
  });

  // Guards against: a query parameter whose schema was a reference to a component, which left it
  // with no description in the document.
  it('describes every parameter of every operation', () => {
    type Operation = { parameters?: { in: string; name: string; description?: string }[] };
    const undescribed = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations as Record<string, Operation>).flatMap(([method, op]) =>
        (op.parameters ?? []).filter((p) => !p.description).map((p) => `${method} ${path} ${p.in} ${p.name}`),
      ),
    );
    expect(undescribed).toEqual([]);
  });

  // Guards against: no parameter had an example, so the docs page's "Try it out" and mock servers
  // filled in made-up values (a `roles` of "string", an id that is not a UUID). Headers have none:
  // the page sends a header's example, and an If-Match makes every try a 412, one Idempotency-Key
  // for every try a 422 once the body changes.
  it('gives every path and query parameter an example its schema accepts, and the examples make requests the API answers', async () => {
    type Parameter = { in: string; name: string; example?: unknown; schema: object };
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, { parameters?: Parameter[] }>>)) {
      for (const [method, op] of Object.entries(item)) {
        const parameters = op.parameters ?? [];
        for (const p of parameters) {
          if (p.in === 'header') {
            expect(p.example, `${method} ${path} ${p.in} ${p.name}`).toBeUndefined();
            continue;
          }
          expect(p.example, `${method} ${path} ${p.in} ${p.name}`).toBeDefined();
          expect(ajv.validate(p.schema, p.example), `${method} ${path} ${p.in} ${p.name}: ${String(p.example)}`).toBe(true);
        }
        if (method !== 'get') continue;
        // Every path and query example at once; the conditional headers' examples name no current tag.
        let url = path;
        const query = new URLSearchParams();
        for (const p of parameters) {
          if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(String(p.example)));
          if (p.in === 'query') query.set(p.name, String(p.example));
        }
        const response = await app.inject(query.size === 0 ? url : `${url}?${query}`);
        // The example id is a well-formed one that no stored assessment has.
        expect(response.statusCode, `${url}?${query}: ${response.body.slice(0, 200)}`).toBe(path === '/v1/assessments/{id}' ? 404 : 200);
        // A list tried with every example finds something to show.
        if (query.has('limit')) expect(JSON.parse(response.body).items.length, `${url}?${query}`).toBeGreaterThan(0);
      }
    }
  });

  it("documents the 304 of a stored assessment: If-None-Match for `*` alone, no ETag, the 200's other headers", async () => {
    type Operation = {
      parameters?: { in: string; name: string; description?: string }[];
      responses: Record<string, { headers?: Record<string, unknown> }>;
    };
    const op = document.paths['/v1/assessments/{id}'].get as Operation;
    const ifNoneMatch = op.parameters?.find((p) => p.in === 'header' && p.name === 'if-none-match');
    expect(ifNoneMatch?.description).toMatch(/`\*`/);
    const declared200 = Object.keys(op.responses['200']?.headers ?? {});
    const declared304 = Object.keys(op.responses['304']?.headers ?? {});
    expect(declared200).not.toContain('etag');
    expect(declared304.sort()).toEqual(declared200.filter((name) => name !== 'content-encoding').sort());
    const created = await injectPost(app, '/v1/assessments', {
      answers: app.kb.data.questions.map((q) => ({ questionId: q.id, value: 3 })),
    });
    const url = `/v1/assessments/${created.json().id}`;
    for (const [status, headers] of [
      ['200', {}],
      ['304', { 'if-none-match': '*' }],
    ] as const) {
      const response = await app.inject({ url, headers });
      expect(String(response.statusCode)).toBe(status);
      const declared = status === '200' ? declared200 : declared304;
      const sent = Object.keys(response.headers).filter(
        (name) => !['content-type', 'content-length', 'date', 'connection'].includes(name) && !(name in API_SECURITY_HEADERS),
      );
      expect(
        sent.filter((name) => !declared.includes(name)),
        status,
      ).toEqual([]);
    }
  });

  it('ships client types that match the committed document', async () => {
    const committed = readFileSync(join(projectRoot, 'openapi', 'api.d.ts'), 'utf8');
    expect(await generateClientTypes(document)).toBe(committed);
  });

  // Guards against: the UI's document routes answered before any check, so /docs/json?x=1 was a 200
  // where /openapi.json?x=1 is a 400.
  it.each(['/openapi.json', '/docs/json', '/docs/yaml'])('refuses a query on %s as every route does', async (path) => {
    const problem = problemOf(await app.inject(`${path}?x=1`), 400);
    expect(fieldsOf(problem)).toEqual(['querystring.x']);
  });

  it('serves /docs/yaml built once, with an ETag that answers If-None-Match, and compressed', async () => {
    const first = await app.inject('/docs/yaml');
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('application/yaml');
    expect(first.body).toBe(app.swagger({ yaml: true }));
    const again = await app.inject({ url: '/docs/yaml', headers: { 'if-none-match': first.headers.etag as string } });
    expect(again.statusCode).toBe(304);
    const compressed = await app.inject({ url: '/docs/yaml', headers: { 'accept-encoding': 'br' } });
    expect(compressed.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(compressed.rawPayload).toString()).toBe(first.body);
  });

  // Guards against: the docs page's scripts and styles (about 2 MB) sent uncompressed on every visit.
  describe('static files of the docs page', () => {
    const staticDir = join(dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui')), 'static');
    const url = '/docs/static/swagger-ui-bundle.js';
    const file = readFileSync(join(staticDir, 'swagger-ui-bundle.js'));

    it.each([
      ['br', brotliDecompressSync],
      ['gzip', gunzipSync],
    ] as const)("are sent %s-compressed to clients that accept it, with the plain file's weak ETag", async (coding, decode) => {
      const plain = await app.inject(url);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers['accept-ranges']).toBe('bytes');
      expect(plain.rawPayload.equals(file)).toBe(true);
      const response = await app.inject({ url, headers: { 'accept-encoding': `${coding}, identity;q=0.5` } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-encoding']).toBe(coding);
      expect(response.headers['content-type']).toContain('javascript');
      expect(response.headers['accept-ranges']).toBeUndefined();
      expect(Number(response.headers['content-length'])).toBe(response.rawPayload.length);
      expect(response.rawPayload.length).toBeLessThan(file.length / 3);
      expect(decode(response.rawPayload).equals(file)).toBe(true);
      for (const reply of [plain, response]) expect(String(reply.headers.vary)).toMatch(/\bAccept-Encoding\b/);
      expect(response.headers.etag).toMatch(/^W\//);
      expect(response.headers.etag).toBe(plain.headers.etag);

      const revalidated = await app.inject({
        url,
        headers: { 'accept-encoding': coding, 'if-none-match': response.headers.etag as string },
      });
      expect(revalidated.statusCode).toBe(304);
      expect(revalidated.body).toBe('');
      expect(String(revalidated.headers.vary)).toMatch(/\bAccept-Encoding\b/);
    });

    // RFC 9110 §9.3.2: a HEAD gets the header fields of its GET. Guards against: a HEAD's empty stream
    // was not taken for the file, so it announced the plain file's length and no coding.
    it('answers a HEAD with the headers of its GET', async () => {
      for (const coding of ['br', 'gzip', 'identity']) {
        const headers = { 'accept-encoding': coding };
        const get = await app.inject({ url, headers });
        const head = await app.inject({ method: 'HEAD', url, headers });
        expect(head.statusCode).toBe(200);
        expect(head.body).toBe('');
        for (const name of ['content-encoding', 'content-length', 'content-type', 'etag', 'vary', 'accept-ranges']) {
          expect(head.headers[name], `${coding} ${name}`).toEqual(get.headers[name]);
        }
      }
    });

    it('answers a range from the plain file, and leaves small files and images as they are', async () => {
      const range = await app.inject({ url, headers: { 'accept-encoding': 'br', range: 'bytes=0-99' } });
      expect(range.statusCode).toBe(206);
      expect(range.headers['content-encoding']).toBeUndefined();
      expect(range.rawPayload.equals(file.subarray(0, 100))).toBe(true);
      for (const path of ['index.css', 'favicon-32x32.png']) {
        const response = await app.inject({ url: `/docs/static/${path}`, headers: { 'accept-encoding': 'br, gzip' } });
        expect(response.statusCode, path).toBe(200);
        expect(response.headers['content-encoding'], path).toBeUndefined();
        expect(response.rawPayload.equals(readFileSync(join(staticDir, path))), path).toBe(true);
      }
    });

    // RFC 9110 §15.5.17: a 416 to a byte range should say the file's length in Content-Range; RFC 9457
    // §3.1.3: a problem type's title does not change from one occurrence to the next. Guards against:
    // a 416 with no Content-Range, typed `bad-request`, whose title is the status's reason phrase.
    // Guards against: the file server's 412 typed `bad-request`, where every other 412 of the API is
    // `precondition-failed`.
    it('answers a failed If-Match on a file 412 precondition-failed', async () => {
      const response = await app.inject({ url: '/docs/static/swagger-ui.css', headers: { 'if-match': '"not-this-file"' } });
      expect(response.statusCode).toBe(412);
      expect(response.json()).toMatchObject({ type: '/problems/precondition-failed', code: 'precondition-failed', status: 412 });
    });

    // RFC 9110 §13.2.1: preconditions are ignored where the request would fail without them. Guards
    // against: a missing file asked for with an If-Match was told 412, that the file's tag is weak.
    it('answers a missing file as without If-Match (404), and the folder with an If-Match 412 as a file', async () => {
      for (const url of [
        '/docs/static/nope.js',
        '/docs/static/nope/',
        '/docs/static/../package.json',
        '/docs/static/%2e%2e/package.json',
      ]) {
        const plain = await app.inject({ url });
        expect(plain.statusCode, url).toBe(404);
        for (const method of ['GET', 'HEAD'] as const) {
          const response = await app.inject({ method, url, headers: { 'if-match': '"x"' } });
          expect([url, method, response.statusCode]).toEqual([url, method, 404]);
        }
      }
      // The folder answers its index page, whose weak tag no If-Match matches, as a file's.
      const url = '/docs/static/';
      const etag = String((await app.inject({ url })).headers.etag);
      for (const ifMatch of ['"x"', etag]) {
        const response = await app.inject({ url, headers: { 'if-match': ifMatch } });
        expect([ifMatch, response.statusCode, response.json().code]).toEqual([ifMatch, 412, 'precondition-failed']);
      }
    });

    // RFC 9110 §13.1.1 compares If-Match strongly, and a file's only tag is weak. Guards against: the
    // file server took the file's own weak tag as matching and sent the file.
    it('answers If-Match with the weak tag of the file 412, and If-Match: * with the file', async () => {
      const url = '/docs/static/swagger-ui.css';
      const etag = String((await app.inject({ url })).headers.etag);
      expect(etag).toMatch(/^W\//);
      for (const ifMatch of [etag, `"x", ${etag}`, etag.slice(2)]) {
        const response = await app.inject({ url, headers: { 'if-match': ifMatch } });
        expect([ifMatch, response.statusCode, response.json().code]).toEqual([ifMatch, 412, 'precondition-failed']);
      }
      const any = await app.inject({ url, headers: { 'if-match': '*' } });
      expect([any.statusCode, any.headers.etag]).toEqual([200, etag]);
    });

    // Guards against (from a caching review): the file server weighed If-Unmodified-Since after an
    // If-Match that held (RFC 9110, 13.2.2 evaluates it only without one), and took a request's
    // `Cache-Control: no-cache` as a reason to send the whole file to a matching If-None-Match.
    it('reads If-Match: * without the If-Unmodified-Since beside it, and answers its own tag 304 under no-cache', async () => {
      const url = '/docs/static/swagger-ui.css';
      const first = await app.inject({ url });
      const old = 'Mon, 01 Jan 2001 00:00:00 GMT';
      const matched = await app.inject({ url, headers: { 'if-match': '*', 'if-unmodified-since': old } });
      expect([matched.statusCode, matched.rawPayload.equals(first.rawPayload)]).toEqual([200, true]);
      // Without If-Match, an If-Unmodified-Since before the file's date still fails.
      expect((await app.inject({ url, headers: { 'if-unmodified-since': old } })).statusCode).toBe(412);
      const revalidated = await app.inject({ url, headers: { 'if-none-match': String(first.headers.etag), 'cache-control': 'no-cache' } });
      expect([revalidated.statusCode, revalidated.body]).toEqual([304, '']);
    });

    // Guards against (from a caching review): a weak If-Range was taken as matching, so a client
    // resuming a compressed download got a range of the plain file (the codings share one weak ETag).
    it('ignores a range whose If-Range is a weak tag, and sends the whole file', async () => {
      const url = '/docs/static/swagger-ui.css';
      const first = await app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
      const etag = String(first.headers.etag);
      expect(etag).toMatch(/^W\//);
      const resumed = await app.inject({ url, headers: { 'accept-encoding': 'gzip', range: 'bytes=0-9', 'if-range': etag } });
      expect([resumed.statusCode, resumed.headers['content-encoding'], resumed.rawPayload.equals(first.rawPayload)]).toEqual([
        200,
        'gzip',
        true,
      ]);
      // Nor does a date (the codings share one Last-Modified): what browsers send for a weak ETag.
      const lastModified = String(first.headers['last-modified']);
      const dated = await app.inject({ url, headers: { 'accept-encoding': 'gzip', range: 'bytes=0-9', 'if-range': lastModified } });
      expect([dated.statusCode, dated.rawPayload.equals(first.rawPayload)]).toEqual([200, true]);
      // A range with no If-Range is still served, from the plain file.
      const ranged = await app.inject({ url, headers: { range: 'bytes=0-9' } });
      expect([ranged.statusCode, ranged.rawPayload.length]).toEqual([206, 10]);
    });

    it('answers a range past the end of a file 416 with its length in Content-Range and a problem type of its own', async () => {
      const url = '/docs/static/swagger-ui.css';
      const size = readFileSync(join(staticDir, 'swagger-ui.css')).length;
      for (const coding of ['identity', 'br']) {
        const response = await app.inject({ url, headers: { 'accept-encoding': coding, range: `bytes=${size}-` } });
        expect([response.statusCode, response.headers['content-range']], coding).toEqual([416, `bytes */${size}`]);
        expect(response.json()).toMatchObject({ type: '/problems/range-not-satisfiable', title: 'Range Not Satisfiable', status: 416 });
      }
      // Guards against (from an adversarial review): a Range that is no byte range was told it asked
      // for bytes past the file's end.
      const malformed = await app.inject({ url, headers: { range: 'bytes=abc' } });
      expect([malformed.statusCode, malformed.json().detail]).toEqual([
        416,
        'The Range names no bytes of the file that can be sent (none within its length, or none written as a byte range): Content-Range gives its length.',
      ]);
    });
  });

  // Guards against: the UI's redirect from its old page address kept a query only by sending the
  // address back to itself, so that a browser followed it until it gave up.
  it('sends the old page address to the page, its query kept', async () => {
    for (const [url, target] of [
      ['/docs/static/index.html', '/docs/'],
      ['/docs/static/index.html?utm_source=x&b=2', '/docs/?utm_source=x&b=2'],
    ] as const) {
      const response = await app.inject(url);
      expect([response.statusCode, response.headers.location], url).toEqual([302, target]);
    }
  });

  // Guards against: the page's settings script went out plain on every visit, with no validator,
  // where the README says the page's scripts are compressed and revalidate.
  it('sends the page settings script compressed, with an ETag that answers If-None-Match', async () => {
    const url = '/docs/static/swagger-initializer.js';
    const plain = await app.inject(url);
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(plain.body).toContain('SwaggerUIBundle');
    expect(plain.headers.etag).toMatch(/^"/);
    const gzipped = await app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
    expect([gzipped.statusCode, gzipped.headers['content-encoding']]).toEqual([200, 'gzip']);
    expect(gunzipSync(gzipped.rawPayload).toString()).toBe(plain.body);
    // A base64 logo in it compresses little.
    expect(gzipped.rawPayload.length).toBeLessThan(plain.rawPayload.length * 0.6);
    const revalidated = await app.inject({ url, headers: { 'accept-encoding': 'gzip', 'if-none-match': gzipped.headers.etag as string } });
    expect([revalidated.statusCode, revalidated.body]).toEqual([304, '']);
  });

  it('renders the docs page at /docs', async () => {
    const response = await app.inject('/docs/');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.body).not.toMatch(/https?:\/\/(cdn|unpkg|cdnjs)/);
  });

  // Guards against: the document declared limit and offset without their defaults (zod drops a
  // default from the input schema of a value it transforms), so a generated client or the docs page
  // could not tell that a list without them is answered 50 items from the start.
  describe('the defaults of limit and offset, in the document and in the answer', () => {
    it('finds the paged lists', () => {
      expect(paged).toEqual(expect.arrayContaining(['/v1/roles', '/v1/competencies', '/v1/company-sizes', '/v1/sources']));
    });

    it.each(paged)('%s declares limit 50 and offset 0 as defaults, as it answers without them', async (path) => {
      const parameters = (document.paths[path].get as Operation).parameters ?? [];
      const schemaOf = (name: string) => parameters.find((p) => p.in === 'query' && p.name === name)?.schema;
      expect(schemaOf('limit')?.default).toBe(50);
      expect(schemaOf('offset')?.default).toBe(0);
      const body = (await app.inject({ url: path })).json();
      expect({ limit: body.limit, offset: body.offset }).toEqual({ limit: 50, offset: 0 });
    });

    it('serves the same defaults at /openapi.json', async () => {
      const served = (await app.inject({ url: '/openapi.json' })).json();
      const limit = (served.paths['/v1/competencies'].get as Operation).parameters?.find((p) => p.name === 'limit');
      expect(limit?.schema.default).toBe(50);
    });
  });
});

/**
 * The routes of Fastify's printed route tree: each line is a path segment, indented four columns per
 * level under its parent, followed by its methods in parentheses.
 */
function servedRoutes(tree: string): { method: string; path: string }[] {
  const parents: string[] = [];
  return tree.split('\n').flatMap((line) => {
    const match = /^((?:[│ ] {3})*)[├└]── (.+?) \(([A-Z, ]+)\)$/.exec(line);
    if (match === null) return [];
    const [, indent = '', segment = '', methods = ''] = match;
    const depth = indent.length / 4;
    parents.length = depth;
    const path = `${parents.join('')}${segment}`;
    parents.push(segment);
    return methods.split(', ').map((method) => ({ method, path }));
  });
}
