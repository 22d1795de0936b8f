// Helpers for tests that drive Debian's Chromium against the API: the browser itself, a frontend
// served from another origin whose page calls the API with fetch(), and a record of what crossed the
// wire on the API's side (preflights included, which the browser does not report to the test).
import { existsSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launches headless Chromium; fails loudly when it is not installed (see scripts/ensure-chromium.sh). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (see .ci/run)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/**
 * The frontend's page. `call(url, init)` is what a frontend does: fetch, then read the status, every
 * header the browser lets the page see, and the body as text; a fetch the browser refuses (CORS, a
 * network error) gives `{ ok: false, error }`, as a page would see it.
 */
const FRONTEND_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>frontend</title><script>
window.call = async function (url, init) {
  try {
    const response = await fetch(url, init);
    const headers = {};
    response.headers.forEach(function (value, name) { headers[name] = value; });
    return { ok: true, status: response.status, url: response.url, headers: headers, body: await response.text() };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
};
</script></head><body><p>frontend</p></body></html>`;

export type Frontend = { origin: string; close: () => Promise<void> };

/** Serves the frontend's page on a port of its own on 127.0.0.1: an origin other than the API's. */
export function serveFrontend(): Promise<Frontend> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(FRONTEND_PAGE);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        origin: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** What `call` may pass to fetch(). */
export type CallInit = {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  cache?: 'default' | 'no-store' | 'no-cache' | 'reload';
};
/** What the page read: the headers are only those the browser exposes to it. */
export type Called =
  | { ok: true; status: number; url: string; headers: Record<string, string>; body: string }
  | { ok: false; error: string };
export type Caller = (url: string, init?: CallInit) => Promise<Called>;

type FrontendWindow = { call: (url: string, init: CallInit) => Promise<Called> };

/** Opens the frontend in `context` and returns its fetch, run in the page. */
export async function openFrontend(context: BrowserContext, frontend: Frontend): Promise<{ page: Page; call: Caller }> {
  const page = await context.newPage();
  await page.goto(`${frontend.origin}/`);
  const call: Caller = (url, init = {}) =>
    page.evaluate(([u, i]) => (globalThis as unknown as FrontendWindow).call(u, i), [url, init] as const);
  return { page, call };
}

/** A page read that the browser allowed; fails the test with what the page saw otherwise. */
export function allowed(called: Called): Extract<Called, { ok: true }> {
  if (!called.ok) throw new Error(`the browser refused the response: ${called.error}`);
  return called;
}

/** One request as the API's HTTP server received it, and the head of its response. */
export type Exchange = {
  method: string;
  url: string;
  requestHeaders: IncomingHttpHeaders;
  status?: number;
  /** Lowercase names; repeated values joined with ", ". */
  responseHeaders: Record<string, string>;
};

function flatten(into: Record<string, string>, headers: OutgoingHttpHeaders | readonly unknown[] | undefined): void {
  if (headers === undefined || headers === null) return;
  if (Array.isArray(headers)) {
    // Node also takes a flat [name, value, name, value, ...] list (the cached front sends one).
    for (let i = 0; i + 1 < headers.length; i += 2) into[String(headers[i]).toLowerCase()] = String(headers[i + 1]);
    return;
  }
  for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
    if (value !== undefined) into[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
}

/**
 * Records every request the server receives, before any of its own listeners (Fastify, the cached
 * front) answers it, with the status and headers it is answered with. Requests Node's parser refuses
 * (too large, not HTTP) never become requests and are not recorded.
 */
export function recordExchanges(server: Server) {
  const all: Exchange[] = [];
  server.prependListener('request', (request, response) => {
    const exchange: Exchange = {
      method: request.method ?? '',
      url: request.url ?? '',
      requestHeaders: { ...request.headers },
      responseHeaders: {},
    };
    all.push(exchange);
    const writeHead = response.writeHead;
    response.writeHead = function (this: typeof response, ...args: unknown[]) {
      const headers = typeof args[1] === 'string' ? args[2] : args[1];
      flatten(exchange.responseHeaders, response.getHeaders());
      flatten(exchange.responseHeaders, headers as OutgoingHttpHeaders | unknown[] | undefined);
      exchange.status = args[0] as number;
      return (writeHead as (...a: unknown[]) => typeof response).apply(this, args);
    } as typeof response.writeHead;
  });
  return {
    all,
    /** The position to read from for the exchanges of what follows. */
    mark: () => all.length,
    since: (mark: number) => all.slice(mark),
  };
}
