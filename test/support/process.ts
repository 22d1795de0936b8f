// Helpers for tests that run the real server process: a private build of src/, servers on temporary
// databases, a write load over keep-alive connections, and read-back checks. All traffic goes to 127.0.0.1.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, type ClientRequest, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll } from 'vitest';
import { freePort, sleep } from '../../bench/lib.js';
import { countStoredAssessments } from '../../src/db/repository.js';
import { projectRoot } from '../../src/paths.js';
import { SERVER_NODE_FLAGS } from '../../src/server-flags.js';
import { TempDirs } from './fixtures.js';

export { sleep };

const HOST = '127.0.0.1';
const BUILD_PREFIX = 'rc-api-process-build-';

// ---------------------------------------------------------------------------------------------
// Build

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort();
}

/**
 * A hash of everything the build reads, so test files running at the same time share one build. The
 * checkout's path is part of it: a build links to its checkout's seed/, migrations/ and node_modules/,
 * so another checkout with the same sources (a clone beside this one) must not run it.
 */
function buildHash(): string {
  const hash = createHash('sha256');
  hash.update(projectRoot);
  hash.update('\0');
  const inputs = [
    ...filesUnder(join(projectRoot, 'src')),
    // The bundle holds the installed dependencies too.
    ...['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.ts'].map((f) => join(projectRoot, f)),
  ];
  for (const file of inputs) {
    hash.update(relative(projectRoot, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function run(file: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`)) : resolve(),
    );
  });
}

/**
 * Builds the server as `npm run build` does (scripts/build.ts) into a private folder under the OS
 * temp folder and returns its server.js. The folder mirrors the project root with symlinks
 * (package.json, node_modules, seed, migrations...), so paths.ts resolves them as it does from dist/.
 * The shared dist/ is never written, so other tests building or running it at the same time are not
 * disturbed. Concurrent callers with the same sources wait on a lock and reuse one build.
 */
export async function buildServer(): Promise<string> {
  const dir = join(tmpdir(), `${BUILD_PREFIX}${buildHash()}`);
  const script = join(dir, 'dist', 'server.js');
  const complete = join(dir, 'complete');
  if (existsSync(complete)) return script;
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (existsSync(complete)) return script;
    try {
      if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
    } catch {
      // released meanwhile
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`);
    await sleep(200);
  }
  try {
    if (existsSync(complete)) return script;
    removeOldBuilds(dir);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    for (const entry of readdirSync(projectRoot)) {
      if (entry === 'dist' || entry.startsWith('.')) continue;
      symlinkSync(join(projectRoot, entry), join(dir, entry));
    }
    const tsx = join(projectRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    await run(process.execPath, [tsx, join('scripts', 'build.ts'), join(dir, 'dist')], projectRoot);
    if (!existsSync(script)) throw new Error(`the build did not produce ${script}`);
    writeFileSync(complete, new Date().toISOString());
    return script;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Builds of older sources made more than ten minutes ago (no test runs that long). */
function removeOldBuilds(current: string): void {
  for (const entry of readdirSync(tmpdir())) {
    const path = join(tmpdir(), entry);
    if (!entry.startsWith(BUILD_PREFIX) || path === current || entry.endsWith('.lock')) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > 10 * 60 * 1000) rmSync(path, { recursive: true, force: true });
    } catch {
      // removed by someone else
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Server processes

/**
 * For a file of process tests: builds the server once before its tests and, after them, kills every
 * server they started and removes their temporary folders. `script()` is the built server.js.
 */
export function serverBuiltForFile(): { temp: TempDirs; script: () => string } {
  const temp = new TempDirs();
  let built = '';
  beforeAll(async () => {
    built = await buildServer();
  }, 120_000);
  afterAll(() => {
    killAll();
    temp.cleanup();
  });
  return { temp, script: () => built };
}

export type Server = {
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  /** Resolves when the process has exited: the exit code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const children = new Set<ChildProcess>();

/** SIGKILLs every process started here that is still running (for afterAll). */
export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/**
 * Spawns `node <script>` under the V8 flags `npm start` gives it, with a minimal environment, on a
 * free port, silent, without the rate limit.
 */
export function spawnServer(script: string, env: Record<string, string>, port: number): Server {
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, script], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOST,
      PORT: String(port),
      LOG_LEVEL: 'silent',
      RATE_LIMIT_ENABLED: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, port, url: `http://${HOST}:${port}`, output: () => output, exited };
}

/** Starts a server on `databasePath` and waits until /ready answers 200. */
export async function startServer(script: string, databasePath: string, env: Record<string, string> = {}, timeoutMs = 15_000) {
  const server = spawnServer(script, { DATABASE_PATH: databasePath, ...env }, await freePort());
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void server.exited.then((value) => {
    exit = value;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exit) throw new Error(`server exited (${exit.code ?? exit.signal}) before it was ready:\n${server.output()}`);
    try {
      const response = await fetch(`${server.url}/ready`);
      if (response.status === 200) return server;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  server.child.kill('SIGKILL');
  throw new Error(`server not ready within ${timeoutMs} ms:\n${server.output()}`);
}

/** The exit of `server`, or a rejection when it has not exited within `ms`. */
export async function exitWithin(server: Server, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms:\n${server.output()}`)), ms);
  });
  try {
    return await Promise.race([server.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM, then the exit (code and time taken). */
export async function stopServer(server: Server, ms = 10_000) {
  const started = performance.now();
  server.child.kill('SIGTERM');
  const exit = await exitWithin(server, ms);
  return { ...exit, ms: Math.round(performance.now() - started) };
}

// ---------------------------------------------------------------------------------------------
// HTTP

export type Reply = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** An HTTP error with the stage it happened at: before any response byte, or inside a response. */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    readonly afterHeaders: boolean,
    message: string,
  ) {
    super(message);
  }
}

type Send = { method: 'GET' | 'POST'; path: string; body?: string; headers?: Record<string, string>; timeoutMs?: number };

/** Opens a request and collects its response; the caller writes and ends the body. */
function open(agent: Agent | false, baseUrl: string, options: Send) {
  let fail: (error: Error & { code?: string }) => void = () => undefined;
  let req: ClientRequest | undefined;
  const reply = new Promise<Reply>((resolve, reject) => {
    let afterHeaders = false;
    let settled = false;
    fail = (error) => {
      if (settled) return;
      settled = true;
      reject(new RequestError(afterHeaders ? 'TRUNCATED' : (error.code ?? 'ERROR'), afterHeaders, error.message));
    };
    const length = options.body === undefined ? undefined : Buffer.byteLength(options.body);
    req = request(
      new URL(options.path, baseUrl),
      {
        agent,
        method: options.method,
        headers: { ...(length === undefined ? {} : { 'content-type': 'application/json', 'content-length': length }), ...options.headers },
      },
      (res) => {
        afterHeaders = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('aborted', () => fail(new Error('response aborted')));
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          if (!res.complete) return fail(new Error('response incomplete'));
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
  });
  const r = req as unknown as ClientRequest;
  r.setTimeout(options.timeoutMs ?? 10_000, () => r.destroy(Object.assign(new Error('request timed out'), { code: 'TIMEOUT' })));
  r.on('error', fail);
  return { req: r, reply };
}

/** One request; `onWritten` fires when the whole request has been handed to the socket. */
export function send(agent: Agent, baseUrl: string, options: Send, onWritten?: () => void): Promise<Reply> {
  const { req, reply } = open(agent, baseUrl, options);
  if (onWritten) req.on('finish', onWritten);
  req.end(options.body);
  return reply;
}

/**
 * A POST on its own connection that sends its headers and the first half of its body now and the rest
 * on finish(): between the two, the server is in the middle of reading it.
 */
export function sendInTwoParts(baseUrl: string, path: string, body: string, headers: Record<string, string> = {}) {
  const bytes = Buffer.from(body);
  const half = Math.floor(bytes.length / 2);
  const { req, reply } = open(false, baseUrl, { method: 'POST', path, body, headers });
  req.flushHeaders();
  req.write(bytes.subarray(0, half));
  return { reply, finish: () => req.end(bytes.subarray(half)) };
}

export type Question = { id: string };

export async function questions(baseUrl: string): Promise<Question[]> {
  const response = await fetch(`${baseUrl}/v1/assessment/questions`);
  if (response.status !== 200) throw new Error(`GET /v1/assessment/questions: ${response.status}`);
  return ((await response.json()) as { questions: Question[] }).questions;
}

/** A submission answering every question, labelled with `respondent` so a stored copy can be recognised. */
export function submission(qs: readonly Question[], respondent: string, seed: number): string {
  return JSON.stringify({ answers: qs.map((q, i) => ({ questionId: q.id, value: ((seed + i * 3) % 5) + 1 })), respondent });
}

// ---------------------------------------------------------------------------------------------
// Load

export type Outcome =
  | { kind: 'ack'; id: string }
  /** A whole 503 from a server that is closing: nothing was stored. */
  | { kind: 'refused'; status: number }
  /** No response: ECONNREFUSED, ECONNRESET, socket hang up, timeout... */
  | { kind: 'error'; code: string }
  /** A response that stopped half-way. */
  | { kind: 'truncated'; code: string }
  /** Any other response, or a 201 whose body is not the stored assessment. */
  | { kind: 'unexpected'; status: number; body: string };

export type Attempt = {
  key: string;
  respondent: string;
  body: string;
  startedAt: number;
  writtenAt?: number;
  endedAt: number;
  outcome: Outcome;
};

export type LoadOptions = {
  baseUrl: string;
  questions: readonly Question[];
  connections: number;
  /** Upper bounds: the load stops at whichever comes first (or at stop()). */
  maxRequests: number;
  maxMs: number;
  /** Each connection stops after its first request that did not get a 201. */
  stopAfterFailure: boolean;
};

export type Load = {
  attempts: Attempt[];
  acked: () => Attempt[];
  stop: () => Promise<void>;
  done: Promise<void>;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** POSTs /v1/assessments from `connections` keep-alive connections, one request at a time each, with an Idempotency-Key. */
export function startLoad(options: LoadOptions): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const attempts: Attempt[] = [];
  const started = performance.now();
  let stopped = false;
  let issued = 0;
  const runId = randomUUID().slice(0, 8);

  const worker = async (w: number) => {
    while (!stopped && issued < options.maxRequests && performance.now() - started < options.maxMs) {
      const n = issued++;
      const key = `load-${runId}-${w}-${n}`;
      const body = submission(options.questions, key, n);
      const attempt: Attempt = {
        key,
        respondent: key,
        body,
        startedAt: performance.now(),
        endedAt: 0,
        outcome: { kind: 'error', code: '' },
      };
      try {
        const reply = await send(
          agent,
          options.baseUrl,
          { method: 'POST', path: '/v1/assessments', body, headers: { 'idempotency-key': key } },
          () => {
            attempt.writtenAt = performance.now();
          },
        );
        attempt.outcome = outcomeOf(reply, key);
      } catch (error) {
        const e = error as RequestError;
        attempt.outcome = e.afterHeaders ? { kind: 'truncated', code: e.code } : { kind: 'error', code: e.code ?? 'ERROR' };
      }
      attempt.endedAt = performance.now();
      attempts.push(attempt);
      if (options.stopAfterFailure && attempt.outcome.kind !== 'ack') return;
    }
  };

  const done = Promise.all(Array.from({ length: options.connections }, (_, w) => worker(w))).then(() => agent.destroy());
  return {
    attempts,
    acked: () => attempts.filter((a) => a.outcome.kind === 'ack'),
    stop: async () => {
      stopped = true;
      await done;
    },
    done,
  };
}

/** What a reply to POST /v1/assessments means for a submission labelled `respondent`. */
export function outcomeOf(reply: Reply, respondent: string): Outcome {
  if (reply.status === 201) {
    try {
      const body = JSON.parse(reply.body) as { id?: unknown; respondent?: unknown; result?: unknown };
      if (typeof body.id === 'string' && UUID.test(body.id) && body.respondent === respondent && typeof body.result === 'object') {
        return { kind: 'ack', id: body.id };
      }
    } catch {
      // falls through: a 201 that does not parse
    }
    return { kind: 'unexpected', status: 201, body: reply.body.slice(0, 300) };
  }
  // Refused as the server shuts down: any other 503 (load shed, a storage fault) is not that.
  if (reply.status === 503 && reply.headers.connection === 'close' && problemCodeOf(reply.body) === 'shutting-down') {
    return { kind: 'refused', status: 503 };
  }
  return { kind: 'unexpected', status: reply.status, body: reply.body.slice(0, 300) };
}

function problemCodeOf(body: string): unknown {
  try {
    return (JSON.parse(body) as { code?: unknown }).code;
  } catch {
    return undefined;
  }
}

export const idOf = (attempt: Attempt) => (attempt.outcome.kind === 'ack' ? attempt.outcome.id : '');

// ---------------------------------------------------------------------------------------------
// Read-back

async function inParallel<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i] as T);
      }
    }),
  );
  return results;
}

export type ReadBack = { found: number; missing: { id: string; status: number }[]; wrong: string[] };

/** GETs every acknowledged assessment: 200 with the same id and respondent counts as found. */
export async function readBack(baseUrl: string, acked: readonly Attempt[]): Promise<ReadBack> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    const results = await inParallel(acked, 16, async (attempt) => {
      const id = idOf(attempt);
      const reply = await send(agent, baseUrl, { method: 'GET', path: `/v1/assessments/${id}` });
      if (reply.status !== 200) return { id, status: reply.status, ok: false };
      const body = JSON.parse(reply.body) as { id: string; respondent: string };
      return { id, status: 200, ok: body.id === id && body.respondent === attempt.respondent };
    });
    return {
      found: results.filter((r) => r.ok).length,
      missing: results.filter((r) => r.status !== 200).map(({ id, status }) => ({ id, status })),
      wrong: results.filter((r) => r.status === 200 && !r.ok).map((r) => r.id),
    };
  } finally {
    agent.destroy();
  }
}

/**
 * Retries requests that got no 201 with their own Idempotency-Key and body: a replay
 * (`Idempotent-Replayed: true`) means the first attempt was stored although it was never acknowledged.
 */
export async function storedAmong(baseUrl: string, attempts: readonly Attempt[]): Promise<Attempt[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  try {
    const replayed = await inParallel(attempts, 8, async (attempt) => {
      const reply = await send(agent, baseUrl, {
        method: 'POST',
        path: '/v1/assessments',
        body: attempt.body,
        headers: { 'idempotency-key': attempt.key },
      });
      if (reply.status !== 201) throw new Error(`retry of ${attempt.key}: ${reply.status} ${reply.body.slice(0, 200)}`);
      return reply.headers['idempotent-replayed'] === 'true';
    });
    return attempts.filter((_, i) => replayed[i]);
  } finally {
    agent.destroy();
  }
}

/** PRAGMA integrity_check on a file no process has open ('ok' when sound). */
export function integrityCheck(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return String(db.pragma('integrity_check', { simple: true }));
  } finally {
    db.close();
  }
}

/** Stored assessments in a file no process has open. */
export function assessmentRows(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return countStoredAssessments(db);
  } finally {
    db.close();
  }
}

/** Counts of outcomes by kind and code, for messages and reports. */
export function tally(attempts: readonly Attempt[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { outcome } of attempts) {
    const name =
      outcome.kind === 'ack'
        ? 'ack'
        : outcome.kind === 'refused' || outcome.kind === 'unexpected'
          ? `${outcome.kind}:${outcome.status}`
          : `${outcome.kind}:${outcome.code}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}
