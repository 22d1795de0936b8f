import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { App } from '../src/app.js';
import { loadContent } from '../src/content/load.js';
import { projectRoot } from '../src/paths.js';
import { buildTestApp } from './helpers.js';
import { editJson, TempDirs } from './support/fixtures.js';
import { responseProblems } from './support/openapi.js';
import { countStatements } from './support/statements.js';

const release = (JSON.parse(readFileSync(join(projectRoot, 'seed', 'release.json'), 'utf8')) as { release: string }).release;

/** One of every knowledge-base GET, each a different resource. */
const CACHED_URLS = [
  '/v1/roles',
  '/v1/roles/tech-lead',
  '/v1/roles/engineering-manager?companySize=startup',
  '/v1/competencies?category=people',
  '/v1/competencies/hiring',
  '/v1/company-sizes',
  '/v1/company-sizes/big-tech',
  '/v1/sources/article-three-differences',
  '/v1/meta',
  '/v1/exports/knowledge-base',
  '/v1/exports/levels.csv',
  '/problems/not-found',
];

/** Different resources (paths or query strings): each must have its own ETag. */
const DISTINCT_URLS = [
  ...CACHED_URLS,
  '/v1/roles?limit=1',
  '/v1/roles?offset=1',
  '/v1/roles/engineering-manager',
  '/v1/roles/engineering-manager?companySize=scale-up',
  '/v1/roles/engineering-manager?companySize=big-tech',
  '/v1/competencies',
  '/v1/competencies?category=technical',
  '/v1/competencies?q=code',
  '/v1/competencies?role=tech-lead',
  '/v1/competencies?role=tech-lead&minLevel=3',
  '/v1/competencies?role=engineering-manager&companySize=big-tech',
  '/v1/competencies?limit=5&offset=5',
  '/v1/competencies/hands-on-coding',
  '/v1/company-sizes?limit=1',
];

let app: App;

beforeAll(async () => {
  app = await buildTestApp();
});

afterAll(async () => {
  await app.close();
});

type Response = Awaited<ReturnType<App['inject']>>;

/** Sends a request and checks the response against the committed OpenAPI document. */
async function send(target: App, url: string, headers: Record<string, string> = {}): Promise<Response> {
  const response = await target.inject({ method: 'GET', url, headers });
  const contentType = response.headers['content-type'] as string | undefined;
  expect(responseProblems('GET', url, response.statusCode, contentType, response.body), `${url} -> ${response.statusCode}`).toEqual([]);
  return response;
}

const get = (url: string, headers: Record<string, string> = {}) => send(app, url, headers);

function etagOf(response: Response): string {
  const etag = response.headers.etag;
  expect(typeof etag, 'ETag header').toBe('string');
  return etag as string;
}

describe('ETag and Cache-Control', () => {
  it.each(CACHED_URLS)('%s sends a quoted ETag and a public Cache-Control with max-age', async (url) => {
    const response = await get(url);
    expect(response.statusCode).toBe(200);
    expect(etagOf(response)).toMatch(/^(W\/)?"[^"]+"$/);
    const cacheControl = String(response.headers['cache-control']);
    expect(cacheControl).toMatch(/(^|,\s*)public(\s*,|$)/);
    const maxAge = /(?:^|,\s*)max-age=(\d+)/.exec(cacheControl);
    expect(maxAge, cacheControl).not.toBeNull();
    expect(Number(maxAge?.[1])).toBeGreaterThan(0);
  });

  it.each(CACHED_URLS)('%s answers If-None-Match: <its etag> with 304, an empty body, and the same ETag', async (url) => {
    const etag = etagOf(await get(url));
    const response = await get(url, { 'if-none-match': etag });
    expect(response.statusCode).toBe(304);
    expect(response.body).toBe('');
    expect(response.headers.etag).toBe(etag);
    expect(String(response.headers['cache-control'])).toMatch(/max-age=\d+/);
  });

  it.each(CACHED_URLS)('%s answers a list of etags that contains its own with 304', async (url) => {
    const etag = etagOf(await get(url));
    const response = await get(url, { 'if-none-match': `"x", ${etag}` });
    expect(response.statusCode).toBe(304);
    expect(response.body).toBe('');
  });

  it.each(CACHED_URLS)('%s answers If-None-Match: * with 304', async (url) => {
    const response = await get(url, { 'if-none-match': '*' });
    expect(response.statusCode).toBe(304);
    expect(response.body).toBe('');
  });

  it.each(CACHED_URLS)('%s answers a weak form of its etag with 304 (If-None-Match compares weakly)', async (url) => {
    const etag = etagOf(await get(url));
    const weak = etag.startsWith('W/') ? etag : `W/${etag}`;
    expect((await get(url, { 'if-none-match': weak })).statusCode).toBe(304);
  });

  it.each(CACHED_URLS)('%s answers a wrong etag with 200 and the full body', async (url) => {
    const fresh = await get(url);
    const response = await get(url, { 'if-none-match': '"not-the-etag"' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(fresh.body);
    expect(response.body.length).toBeGreaterThan(0);
    expect(response.headers.etag).toBe(fresh.headers.etag);
  });

  // RFC 9110, 13.1.1 and 13.2.2. Guards against: If-Match ignored, so a read made conditional on a
  // representation that is no longer current was answered 200 with the new one.
  it.each(CACHED_URLS)('%s answers If-Match with its own tag or * as without it, and any other tag 412', async (url) => {
    const fresh = await get(url);
    const etag = etagOf(fresh);
    for (const ifMatch of [etag, `"x", ${etag}`, '*']) {
      const response = await get(url, { 'if-match': ifMatch });
      expect([response.statusCode, response.body], ifMatch).toEqual([200, fresh.body]);
    }
    // Compared strongly: a weak tag never matches, nor does the tag of another coding.
    const gzipEtag = etagOf(await app.inject({ url, headers: { 'accept-encoding': 'gzip' } }));
    for (const ifMatch of ['"not-the-etag"', `W/${etag}`, gzipEtag]) {
      const response = await get(url, { 'if-match': ifMatch });
      expect([response.statusCode, response.json().code], ifMatch).toEqual([412, 'precondition-failed']);
    }
    // If-Match is evaluated before If-None-Match.
    expect((await get(url, { 'if-match': '"not-the-etag"', 'if-none-match': etag })).statusCode).toBe(412);
    expect((await get(url, { 'if-match': etag, 'if-none-match': etag })).statusCode).toBe(304);
  });

  it('does not answer 304 to an etag of another resource', async () => {
    const rolesEtag = etagOf(await get('/v1/roles'));
    const response = await get('/v1/roles?limit=1', { 'if-none-match': rolesEtag });
    expect(response.statusCode).toBe(200);
  });

  it('gives different resources, including different query strings, different ETags', async () => {
    const etags = new Map<string, string>();
    for (const url of DISTINCT_URLS) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      etags.set(url, etagOf(response));
    }
    const seen = new Map<string, string>();
    for (const [url, etag] of etags) {
      expect(seen.get(etag), `${url} shares its ETag with ${seen.get(etag)}`).toBeUndefined();
      seen.set(etag, url);
    }
  });

  it('returns a byte-identical body to a second identical request', async () => {
    for (const url of CACHED_URLS) {
      const first = await get(url);
      const second = await get(url);
      expect(second.statusCode, url).toBe(200);
      expect(second.rawPayload.equals(first.rawPayload), url).toBe(true);
      expect(second.headers.etag, url).toBe(first.headers.etag);
    }
  });

  it('derives the ETag from the request and the bytes: two separately built apps on the same content agree', async () => {
    const other = await buildTestApp();
    try {
      for (const url of DISTINCT_URLS) {
        const mine = await get(url);
        const theirs = await send(other, url);
        expect(theirs.headers.etag, url).toBe(mine.headers.etag);
        // A client holding an ETag from one instance gets a 304 from the other.
        expect((await send(other, url, { 'if-none-match': etagOf(mine) })).statusCode, url).toBe(304);
      }
    } finally {
      await other.close();
    }
  });

  it('serves the seed release in the bodies it caches', async () => {
    expect((await get('/v1/roles/tech-lead')).json().kbRelease).toBe(release);
  });

  it('answers cached requests and 304s without touching the database (the knowledge base is read once at startup)', async () => {
    const fresh = await buildTestApp();
    try {
      const statements = countStatements();
      onTestFinished(statements.restore);
      const before = statements.count;
      const urls = [
        ...DISTINCT_URLS,
        '/v1/competencies?q=CODE',
        '/v1/competencies?role=engineering-manager&minLevel=0&companySize=startup',
      ];
      for (const url of urls) {
        const first = await send(fresh, url);
        expect(first.statusCode, url).toBe(200);
        expect((await send(fresh, url)).statusCode, url).toBe(200);
        expect((await send(fresh, url, { 'if-none-match': etagOf(first) })).statusCode, url).toBe(304);
        expect((await send(fresh, url, { 'if-none-match': '*' })).statusCode, url).toBe(304);
      }
      expect(statements.count).toBe(before);
    } finally {
      await fresh.close();
    }
  });

  it.each([
    ['/v1/roles/product-manager', 404],
    ['/v1/roles/tech-lead?companySize=enterprise', 404],
    ['/v1/competencies/juggling', 404],
    ['/v1/competencies?role=product-manager', 404],
    ['/v1/roles?limit=0', 400],
    ['/v1/roles/Tech_Lead', 400],
    ['/v1/competencies?minLevel=7', 400],
    ['/v1/company-sizes?offset=-1', 400],
  ])('%s (%i) carries no ETag, even with If-None-Match: *', async (url, status) => {
    const plain = await get(url);
    expect(plain.statusCode).toBe(status);
    expect(plain.headers.etag).toBeUndefined();
    const conditional = await get(url, { 'if-none-match': '*' });
    expect(conditional.statusCode).toBe(status);
    expect(conditional.headers.etag).toBeUndefined();
  });
});

describe('CORS', () => {
  it('lets any origin read a knowledge-base GET by default, and exposes the ETag', async () => {
    const response = await get('/v1/roles', { origin: 'https://hr.example' });
    expect(response.statusCode).toBe(200);
    expect(['*', 'https://hr.example']).toContain(response.headers['access-control-allow-origin']);
    expect(String(response.headers['access-control-expose-headers']).toLowerCase()).toContain('etag');
  });

  it('answers a preflight OPTIONS for GET with 204', async () => {
    // A preflight is not a documented operation, so it is not checked against the OpenAPI document.
    const response = await app.inject({
      method: 'OPTIONS',
      url: '/v1/roles/tech-lead',
      headers: { origin: 'https://hr.example', 'access-control-request-method': 'GET' },
    });
    expect(response.statusCode).toBe(204);
    expect(['*', 'https://hr.example']).toContain(response.headers['access-control-allow-origin']);
    expect(String(response.headers['access-control-allow-methods'])).toContain('GET');
  });

  describe('with corsOrigins set', () => {
    let restricted: App;
    beforeAll(async () => {
      restricted = await buildTestApp({ corsOrigins: ['https://allowed.example'] });
    });
    afterAll(async () => {
      await restricted.close();
    });

    it('allows a listed origin, and varies on Origin', async () => {
      const response = await send(restricted, '/v1/roles', { origin: 'https://allowed.example' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBe('https://allowed.example');
      expect(String(response.headers.vary).toLowerCase()).toContain('origin');
    });

    it('does not allow an origin that is not listed', async () => {
      const response = await send(restricted, '/v1/roles', { origin: 'https://evil.example' });
      expect(response.headers['access-control-allow-origin']).not.toBe('https://evil.example');
      expect(response.headers['access-control-allow-origin']).not.toBe('*');
    });

    it('does not allow an unlisted origin in a preflight either', async () => {
      const response = await restricted.inject({
        method: 'OPTIONS',
        url: '/v1/roles',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
      });
      expect(response.statusCode).toBeLessThan(500);
      expect(response.headers['access-control-allow-origin']).not.toBe('https://evil.example');
      expect(response.headers['access-control-allow-origin']).not.toBe('*');
    });
  });
});

describe('security headers', () => {
  it.each(CACHED_URLS)('%s sends X-Content-Type-Options: nosniff and X-Frame-Options', async (url) => {
    const response = await get(url);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(String(response.headers['x-frame-options'])).toMatch(/^(DENY|SAMEORIGIN)$/i);
  });
});

describe('hostile input never causes a 5xx', () => {
  const NASTY = [
    "' OR 1=1 --",
    "'; DROP TABLE roles; --",
    '../../etc/passwd',
    '..\\..\\windows\\win.ini',
    '%00',
    '\u0000',
    'tech-lead\u0000',
    'é',
    '🚀',
    'ｔｅｃｈ-ｌｅａｄ',
    '\u202etech-lead',
    'a'.repeat(10_000),
    '1'.repeat(10_000),
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    '',
    ' ',
    '<script>alert(1)</script>',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally.
    '${7*7}',
    '{"$gt":""}',
    '-1',
    'NaN',
    'Infinity',
    '1e308',
    '0x10',
    '9007199254740993',
  ];

  /** URL templates; {} is replaced by the encoded hostile value. */
  const PATH_TEMPLATES = ['/v1/roles/{}', '/v1/roles/{}?companySize=startup', '/v1/competencies/{}'];
  const QUERY_TEMPLATES = [
    '/v1/roles?limit={}',
    '/v1/roles?offset={}',
    '/v1/roles/tech-lead?companySize={}',
    '/v1/competencies?category={}',
    '/v1/competencies?q={}',
    '/v1/competencies?role={}',
    '/v1/competencies?role={}&minLevel=1',
    '/v1/competencies?role=tech-lead&minLevel={}',
    '/v1/competencies?role=tech-lead&companySize={}',
    '/v1/competencies?minLevel={}',
    '/v1/competencies?companySize={}',
    '/v1/competencies?limit={}',
    '/v1/competencies?offset={}',
    '/v1/company-sizes?limit={}',
    '/v1/company-sizes?offset={}',
    // The parameter name itself.
    '/v1/roles?{}=1',
    '/v1/competencies?{}=1',
    '/v1/company-sizes?{}=1',
    '/v1/roles/tech-lead?{}=1',
  ];
  /** Raw, sometimes malformed, percent-encoding that a client may send as is. */
  const RAW_URLS = [
    '/v1/roles/%',
    '/v1/roles/%00',
    '/v1/roles/%E0%A4%A',
    '/v1/roles/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/v1/competencies/%ff',
    '/v1/competencies/%',
    '/v1/roles?limit=%',
    '/v1/competencies?q=%',
    '/v1/competencies?q=%E0%A4%A',
    '/v1/competencies?q=%00',
    '/v1/competencies?role=tech-lead&role=engineering-manager',
    '/v1/competencies?limit=1&limit=2',
    '/v1/competencies?category[]=people',
    '/v1/competencies?__proto__[polluted]=1',
    '/v1/roles/tech-lead?companySize=startup&companySize=big-tech',
  ];

  /** Keeps failure reports readable when the input is 10,000 characters long. */
  const short = (text: string) => (text.length > 160 ? `${text.slice(0, 160)}… (${text.length} chars)` : text);

  type Failure = { url: string; status: number; problems: string[]; body: string };

  async function check(url: string): Promise<Failure | null> {
    const response = await app.inject({ method: 'GET', url });
    const contentType = response.headers['content-type'] as string | undefined;
    const problems: string[] = [];
    if (response.statusCode >= 500) problems.push('5xx');
    try {
      problems.push(...responseProblems('GET', url, response.statusCode, contentType, response.body));
    } catch (error) {
      problems.push(String(error));
    }
    if (response.statusCode >= 400) {
      if (!String(contentType).startsWith('application/problem+json')) problems.push(`content-type ${contentType}`);
      if (/"stack"\s*:/.test(response.body) || /\bat .+\.(?:ts|js):\d+/.test(response.body)) problems.push('stack trace in body');
    }
    if (problems.length === 0) return null;
    return { url: short(url), status: response.statusCode, problems: problems.map(short), body: short(response.body) };
  }

  async function checkAll(urls: string[]): Promise<Failure[]> {
    const failures: Failure[] = [];
    for (const url of urls) {
      const failure = await check(url);
      if (failure) failures.push(failure);
    }
    return failures;
  }

  it.each(PATH_TEMPLATES)('in the path: %s answers < 500 with a documented problem', async (template) => {
    const urls = NASTY.map((value) => template.replace('{}', encodeURIComponent(value)));
    expect(await checkAll(urls)).toEqual([]);
  });

  it.each(QUERY_TEMPLATES)('in the query: %s answers < 500 with a documented body', async (template) => {
    const urls = NASTY.map((value) => template.replace('{}', encodeURIComponent(value)));
    expect(await checkAll(urls)).toEqual([]);
  });

  it('raw and malformed percent-encoding, repeated and bracketed parameters answer < 500 with a documented problem', async () => {
    expect(await checkAll(RAW_URLS)).toEqual([]);
  });

  it('a 10,000-character path parameter answers < 500 with a problem+json body', async () => {
    for (const url of [`/v1/roles/${'a'.repeat(10_000)}`, `/v1/competencies/${'a'.repeat(10_000)}`]) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url.slice(0, 40)).toBeLessThan(500);
      expect(String(response.headers['content-type']), url.slice(0, 40)).toMatch(/^application\/problem\+json/);
      expect(response.body).not.toMatch(/"stack"/);
    }
  });
});

// Guards against (from a review): the cache keys wrote the baseline's size (null) as the text "null",
// so on content with a company size slugged `null` the baseline and that size shared one cached
// answer, whichever was asked first, with its ETag.
describe('a company size slugged "null"', () => {
  const temp = new TempDirs();
  let app: App;
  beforeAll(async () => {
    const folder = temp.seedCopy();
    editJson(folder, 'company-sizes.json', (sizes) => [
      ...sizes,
      { ...sizes[2], slug: 'null', name: 'Null Corp', headcountMin: 100_000, headcountMax: null },
    ]);
    editJson(folder, 'variants.json', (variants) => [
      ...variants,
      { role: 'engineering-manager', competency: 'hiring', companySize: 'null', level: 1, rationale: 'A test variant.', editorial: true },
    ]);
    app = await buildTestApp({ content: loadContent(folder) });
  });
  afterAll(async () => {
    await app.close();
    temp.cleanup();
  });

  it.each([
    ['a role', '/v1/roles/engineering-manager'],
    ['a comparison', '/v1/comparisons?roles=tech-lead,engineering-manager'],
  ])('is not served the baseline of %s, nor the baseline its answer', async (_, url) => {
    for (const order of [
      ['baseline', 'sized'],
      ['sized', 'baseline'],
    ]) {
      const path = (which: string) => (which === 'sized' ? `${url}${url.includes('?') ? '&' : '?'}companySize=null` : url);
      const answers = new Map<string, { companySize: string | null; etag: string | undefined }>();
      for (const which of order) {
        const response = await app.inject(path(which));
        answers.set(which, { companySize: response.json().companySize, etag: response.headers.etag as string | undefined });
      }
      expect(answers.get('baseline')?.companySize, order.join(' then ')).toBeNull();
      expect(answers.get('sized')?.companySize, order.join(' then ')).toBe('null');
      expect(answers.get('sized')?.etag).not.toBe(answers.get('baseline')?.etag);
    }
  });
});
