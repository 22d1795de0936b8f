import { Agent, request } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import { type App, type AppOptions, buildApp } from '../../src/app.js';

/** A response over real HTTP: status, raw header pairs in the order sent, and the body's bytes. */
export type Got = { status: number; headers: string[]; body: Buffer };

/** Keep-alive connections for `get`; a test file destroys it once its tests are done. */
export const agent = new Agent({ keepAlive: true });

export function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Starts the app on a free port of the loopback interface: its port and the base URL of its routes. */
export async function listenLocally(app: App): Promise<{ port: number; base: string }> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { port, base: `http://127.0.0.1:${port}` };
}

/** The app listening on a free port, counting the requests that Fastify routes (the cached front answers the others). */
export async function listening(options: AppOptions = {}): Promise<{ app: App; base: string; routed: () => number }> {
  const app = await buildApp({ databasePath: ':memory:', maxEventLoopDelayMs: 60_000, ...options });
  let routed = 0;
  app.addHook('onRequest', async () => {
    routed++;
  });
  const { base } = await listenLocally(app);
  return { app, base, routed: () => routed };
}

/** An app listening on a local port for the tests of the calling block, closed after them; `port` is set once it listens. */
export function listeningForBlock(options: AppOptions = {}): { port: number } {
  const state = { port: 0 };
  let server: Awaited<ReturnType<typeof listening>> | undefined;
  beforeAll(async () => {
    server = await listening(options);
    state.port = Number(new URL(server.base).port);
  });
  afterAll(async () => {
    await server?.app.close();
  });
  return state;
}

export type Exchange = { data: string; closedAfterMs: number | null };

/** Opens a raw connection, lets `script` write to it, and reports what came back and when the server closed it. */
export function exchange(port: number, script: (socket: Socket) => void, waitMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let settled = false;
    const finish = (closedAfterMs: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data, closedAfterMs });
    };
    const timer = setTimeout(() => finish(null), waitMs);
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
    });
    socket.on('close', () => finish(Date.now() - started));
    socket.on('error', () => finish(Date.now() - started));
    socket.on('connect', () => script(socket));
  });
}

/** A JSON POST through inject: an object is sent as JSON, a string or Buffer as it is; from 127.0.0.1 unless told. */
export const injectPost = (app: App, url: string, payload: unknown, headers: Record<string, string> = {}, remoteAddress?: string) =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
  });

/** A POST of JSON text over real HTTP, on the same keep-alive connections as `get`. */
export const postJson = (base: string, path: string, body: string) =>
  get(base, path, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, 'POST', body);

/** Sends raw bytes on a new connection and returns what came back before the server closed it (or `waitMs`). */
export const raw = async (port: number, text: string, waitMs = 1500) => (await exchange(port, (socket) => socket.write(text), waitMs)).data;

/** An RFC 9457 problem as the tests read it. */
export type Problem = {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance?: string;
  errors?: { field: string; message: string }[];
};

/** Asserts that an injected response is a problem with this status, and returns it. */
export function problemOf(response: LightMyRequestResponse, status: number): Problem {
  expect(response.statusCode, response.body.slice(0, 300)).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  return response.json() as Problem;
}

/** The fields a problem names, in order. */
export const fieldsOf = (problem: Problem) => (problem.errors ?? []).map((e) => e.field);
