// Answers at the HTTP edges: a conditional HEAD, a byte-order mark before a forbidden key, a 415 a
// browser page can read, and Host lines checked before an unmet Expect.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { buildTestApp } from './helpers.js';
import { exchange, listening } from './support/http.js';

describe('in process', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  // RFC 9110 §15.4.5: a 304 SHOULD NOT carry representation metadata beyond what the 200 would, and
  // RFC 9111 §4.3.4 has a cache update its stored headers from the 304. Guards against: the HEAD 304
  // was sent with the 200's body Buffer (for its Content-Length) and no type, so Fastify labelled it
  // `application/octet-stream`.
  it('answers a conditional HEAD with a 304 that does not relabel the representation as octet-stream', async () => {
    const full = await app.inject('/v1/roles');
    expect(full.statusCode).toBe(200);
    const head = await app.inject({ method: 'HEAD', url: '/v1/roles', headers: { 'if-none-match': String(full.headers.etag) } });
    expect(head.statusCode).toBe(304);
    const type = head.headers['content-type'];
    if (type !== undefined) expect(type).toBe(full.headers['content-type']);
  });

  // README: "JSON with a `__proto__` key ... is a 400 (`forbidden-key`)". The body parser
  // (secure-json-parse) skips a leading byte-order mark. Guards against: the check that tells a
  // forbidden key from broken JSON re-parsed without skipping it, so the BOM case was "not valid JSON".
  it('reports a __proto__ key as forbidden-key also in JSON that starts with a byte-order mark', async () => {
    const post = (payload: string) =>
      app.inject({ method: 'POST', url: '/v1/assessments/preview', headers: { 'content-type': 'application/json' }, payload });
    // The parser reads a BOM-prefixed body as JSON: this one reaches validation.
    expect((await post('\uFEFF{"answers":[]}')).json().code).toBe('validation-error');
    const response = await post('\uFEFF{"__proto__":{"x":1},"answers":[]}');
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('forbidden-key');
  });

  // README: the 415 names the coding read "with `Accept-Encoding: identity`". A page can send a
  // compressed body (CompressionStream + Content-Encoding). Guards against: Accept-Encoding is not a
  // CORS-safelisted response header and was not exposed, so the page could not read it.
  it('exposes the Accept-Encoding of a 415 to a cross-origin page', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/assessments/preview',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', origin: 'https://hr.example' },
      payload: gzipSync('{"answers":[]}'),
    });
    expect(response.statusCode).toBe(415);
    expect(response.headers['accept-encoding']).toBe('identity');
    expect(response.headers['access-control-allow-origin']).toBe('*');
    const exposed = String(response.headers['access-control-expose-headers'] ?? '')
      .toLowerCase()
      .split(',')
      .map((h) => h.trim());
    expect(exposed).toContain('accept-encoding');
  });
});

describe('over a real connection', () => {
  let server: Awaited<ReturnType<typeof listening>>;
  let port: number;
  beforeAll(async () => {
    server = await listening();
    port = Number(new URL(server.base).port);
  });
  afterAll(async () => {
    await server.app.close();
  });

  const statusLine = async (text: string) => (await exchange(port, (socket) => socket.write(text), 1500)).data.split('\r\n')[0];

  // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without exactly one Host line.
  // Node emits 'checkExpectation' instead of 'request' for an Expect other than 100-continue.
  // Guards against: the Host check ran in the 'request' listener only, so such a request got 417.
  it.each([
    ['no Host line', 'GET /health HTTP/1.1\r\nExpect: teapot\r\nConnection: close\r\n\r\n'],
    ['two Host lines', 'GET /health HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nExpect: teapot\r\nConnection: close\r\n\r\n'],
  ])('answers an HTTP/1.1 request with %s 400 even when it also carries an unmet Expect', async (_case, text) => {
    expect(await statusLine(text)).toBe('HTTP/1.1 400 Bad Request');
  });
});
