import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import autocannon from 'autocannon';
import { projectRoot } from '../src/paths.js';
import { SERVER_NODE_FLAGS } from '../src/server-flags.js';

/**
 * The V8 flags of the process that runs the load generator (each bench script: `npm run bench*`
 * starts it under them). --no-allocation-site-pretenuring: V8 may decide, from what survived its
 * first collections, to allocate some of autocannon's short-lived objects straight into the old
 * generation, and then keeps to that for the life of the process. A load generator that did so
 * collected its old generation twice a second, its young-generation collections took 5 ms instead of
 * 1, and it sent about a third fewer requests, whatever the server (in 6 of 17 runs of a copy of
 * the peers script and in each of three runs of bench:peers; in none of 11 runs with the flag).
 */
export const LOAD_GENERATOR_NODE_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/** Stops a bench script started without LOAD_GENERATOR_NODE_FLAGS, before any server starts. */
export function requireLoadGeneratorFlags(execArgv: readonly string[] = process.execArgv): void {
  const missing = LOAD_GENERATOR_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
  if (missing.length > 0) {
    throw new Error(`the load generator runs under ${missing.join(' ')}: start the bench with npm run bench, bench:peers or bench:scale`);
  }
}

/** The Accept-Encoding browsers send (Node's fetch() sends gzip and deflate). */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

/** The mean, rounded to a whole number. */
export const meanOf = (values: number[]) => Math.round(values.reduce((sum, v) => sum + v, 0) / values.length);

/**
 * A whole-number setting of a bench script from the environment, `fallback` when unset: a value that
 * is not a whole number of at least `least` stops the run before any server starts, with its name.
 */
export function wholeNumberSetting(name: string, fallback: number, least = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < least) {
    throw new Error(`${name} must be a whole number from ${least}, not ${JSON.stringify(raw)}`);
  }
  return value;
}

/** The seconds each measured round lasts and the warm-up round before it (`BENCH_DURATION`, `BENCH_WARMUP`). */
export function roundSettings(): { duration: number; warmup: number } {
  return { duration: wholeNumberSetting('BENCH_DURATION', 10), warmup: wholeNumberSetting('BENCH_WARMUP', 3, 0) };
}

/**
 * Seconds of load, discarded, that each server of a run is sent before its first measured round. The
 * load generator and the servers start cold: on 2026-12-06 E0's first 2 s gave 70,936 req/s and its
 * 2 s rounds from the tenth second on mostly 80,000–90,000, so a first round measured after the usual
 * warm-up alone read low (in the main bench it made a run look like drift; among the peers it held
 * back whichever server went first, the API, by 15–20% in its first round on 2026-12-07).
 */
export const coldStartSec = (duration: number) => Math.min(10, duration);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export type Started = { child: ChildProcess; port: number; url: string; readyMs: number; stop: () => Promise<number | null> };

export type StartOptions = {
  readyPath?: string;
  timeoutMs?: number;
  /** A port the process was configured with; otherwise a free one, passed as PORT. */
  port?: number;
  /** Pass the port as the last command-line argument too (for CLIs that take `--port N`). */
  portArgument?: boolean;
  /** Node's flags for the process: by default those `npm start` gives the API (SERVER_NODE_FLAGS). */
  nodeFlags?: readonly string[];
};

/** Starts a server process and waits until `readyPath` answers 200; readyMs counts from spawn. */
export async function startProcess(args: string[], env: NodeJS.ProcessEnv, options: StartOptions = {}): Promise<Started> {
  const { readyPath = '/ready', timeoutMs = 30_000 } = options;
  const port = options.port ?? (await freePort());
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...(options.nodeFlags ?? SERVER_NODE_FLAGS), ...args, ...(options.portArgument ? [String(port)] : [])],
    {
      cwd: projectRoot,
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited ${child.exitCode}: ${stderr}`);
    if (performance.now() - started > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`${args.join(' ')} not ready after ${timeoutMs} ms: ${stderr}`);
    }
    try {
      const response = await fetch(`${url}${readyPath}`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(5);
  }
  const readyMs = performance.now() - started;
  // Resolves with the exit code (null after a signal); a process that has not exited 10 s after
  // SIGTERM is killed, so a run never hangs on its cleanup.
  const stop = () =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', (code) => {
        clearTimeout(kill);
        resolve(code);
      });
      child.kill('SIGTERM');
    });
  return { child, port, url, readyMs, stop };
}

export type Measure = {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  bytesPerResponse: number;
  requests: number;
  failures: number;
};

export type Load = {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  /** Paths rotated request by request (ids, query strings). */
  paths: string[];
  bodies?: string[];
  headers?: Record<string, string>;
  /**
   * What is wrong with one answer (its status, its JSON body and the path asked), or undefined when
   * it is right. The load generator reads no body, so each request of a rotation is sent and checked
   * once before the load is measured (checkAnswers): a fast answer that is wrong never counts.
   */
  check?: (answer: { status: number; body: unknown; path: string }) => string | undefined;
};

export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** E0: the bare server's constant small JSON (bench/baseline-server.mjs). */
export const e0Load = (url: string): Load => ({
  name: 'E0 (bare fastify, constant JSON)',
  url,
  paths: ['/'],
  check: ({ body }) => (isRecord(body) && body.hello === 'world' ? undefined : 'not the constant JSON'),
});

/**
 * The bench's bodies posted to the bare server, which parses them and answers a constant body of an
 * assessment's size: the part of E0 left to a POST before the API's own work.
 */
export const barePostLoad = (url: string, bodies: string[]): Load => ({
  name: 'reference: bare fastify, POST of the same bodies, constant 10 KB',
  url,
  method: 'POST',
  paths: ['/stored'],
  bodies,
  check: ({ status, body }) =>
    status === 201 && isRecord(body) && typeof body.filler === 'string' && body.filler.length === 9_980 ? undefined : 'not 10 KB',
});

/** `count` submissions answering every question of the API's instrument, their values and company sizes rotated. */
export async function submissions(url: string, count: number): Promise<string[]> {
  const instrument = (await (await fetch(`${url}/v1/assessment/questions`)).json()) as { questions: { id: string }[] };
  const sizes = [undefined, 'startup', 'scale-up', 'big-tech'];
  return Array.from({ length: count }, (_, n) =>
    JSON.stringify({
      companySize: sizes[n % sizes.length],
      answers: instrument.questions.map((q, i) => ({ questionId: q.id, value: ((i * 7 + n * 3) % 5) + 1 })),
    }),
  );
}

export const CONNECTIONS = 50;
/**
 * Autocannon builds every request it is given for each connection up front: a rotation longer than
 * this is walked in overlapping stretches, each connection from its own starting point.
 */
const MAX_REQUESTS_PER_CLIENT = 2000;

/**
 * Runs autocannon at -c 50 -p 1: a warm-up round whose timings are discarded (its failures still
 * count), then the measured round. It reads no body: see checkAnswers.
 *
 * The requests of a round are built before it starts, never per request: a request autocannon
 * must rebuild each time (a `setupRequest` function) costs the load generator more than E0 costs
 * the server, so the load generator, not the server, would set the pace. A short rotation is
 * repeated to at least one request per connection, and each connection walks the rotation from
 * its own starting point, so that the connections spread over the ids instead of asking for the
 * same one at once.
 */
export async function measure(load: Load, durationSec: number, warmupSec: number): Promise<Measure> {
  const cycle = rotationOf(load);
  const count = cycle * Math.ceil(CONNECTIONS / cycle);
  const requests = Array.from({ length: count }, (_, n) => requestOf(load, n));
  const run = (duration: number) => {
    let client = 0;
    return autocannon({
      url: load.url,
      connections: CONNECTIONS,
      pipelining: 1,
      duration,
      // Each client copies and builds what it is given here before setupClient hands it its own
      // rotation: one request is enough.
      requests: requests.slice(0, 1),
      setupClient: (c) => {
        const start = Math.floor((client++ * count) / CONNECTIONS);
        const walk = [...requests.slice(start), ...requests.slice(0, start)];
        c.setRequests(walk.slice(0, MAX_REQUESTS_PER_CLIENT));
      },
    });
  };
  const warmupFailures = warmupSec > 0 ? failuresOf(await run(warmupSec)) : 0;
  const measured = measureOf(load.name, await run(durationSec));
  return { ...measured, failures: measured.failures + warmupFailures };
}

/** How many requests make up a load's rotation of paths and bodies. */
function rotationOf(load: Load): number {
  const bodies = load.bodies ?? [];
  if (load.paths.length === 0) throw new RangeError(`${load.name}: no path to send`);
  if (load.paths.length > 1 && bodies.length > 1 && load.paths.length !== bodies.length)
    throw new RangeError(`${load.name}: ${load.paths.length} paths and ${bodies.length} bodies do not pair up`);
  return Math.max(load.paths.length, bodies.length);
}

/** The n-th request of a load's rotation. */
function requestOf(load: Load, n: number) {
  const bodies = load.bodies ?? [];
  return {
    method: load.method ?? 'GET',
    path: load.paths[n % load.paths.length] as string,
    headers: { 'content-type': 'application/json', ...load.headers },
    ...(bodies.length > 0 ? { body: bodies[n % bodies.length] as string } : {}),
  };
}

/**
 * Sends every request of a load's rotation once and throws unless each is answered with a 2xx, a
 * JSON body (where one is sent) and, where the load has a check, the right content.
 */
export async function checkAnswers(load: Load): Promise<void> {
  const problems: string[] = [];
  for (let n = 0; n < rotationOf(load); n++) {
    const { method, path, headers, body } = requestOf(load, n);
    const response = await sendAsLoaded(`${load.url}${path}`, method, headers, body);
    const text = response.text;
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      problems.push(`${method} ${path}: a body that is not JSON`);
      continue;
    }
    const wrong =
      response.status < 200 || response.status > 299
        ? `status ${response.status}`
        : load.check?.({ status: response.status, body: json, path });
    if (wrong !== undefined) problems.push(`${method} ${path}: ${wrong}`);
  }
  if (problems.length > 0) throw new Error(`${load.name}: ${problems.length} wrong answers, the first: ${problems[0]}`);
}

/**
 * Sends one request with exactly the headers the load generator sends (fetch() would add an
 * Accept-Encoding of its own, and the API answers each coding from a body of its own), and gives its
 * status and its body as text, decoded from the coding the server chose.
 */
function sendAsLoaded(url: string, method: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const request = httpRequest(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const raw = Buffer.concat(chunks);
        const coding = response.headers['content-encoding'];
        try {
          const decoded =
            coding === 'gzip'
              ? gunzipSync(raw)
              : coding === 'br'
                ? brotliDecompressSync(raw)
                : coding === 'deflate'
                  ? inflateSync(raw)
                  : raw;
          resolve({ status: response.statusCode ?? 0, text: decoded.toString('utf8') });
        } catch (error) {
          reject(error);
        }
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Requests that failed: non-2xx answers and errors (autocannon counts timeouts among its errors). */
const failuresOf = (result: autocannon.Result) => result.non2xx + result.errors;

function measureOf(name: string, result: autocannon.Result): Measure {
  return {
    name,
    reqPerSec: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    bytesPerResponse: result.requests.total > 0 ? Math.round(result.throughput.total / result.requests.total) : 0,
    requests: result.requests.total,
    failures: failuresOf(result),
  };
}

/** A load and its reference measured in turns: each side combined, and the req/s of each turn. */
export type Turns = { load: Measure; reference: Measure; turns: { load: number[]; reference: number[] } };

/**
 * A load measured in turns with a reference load (E0), in `slices` pairs of whole seconds after one
 * warm-up of the load, so that both see the machine at the same moments: the machine's speed moves
 * by a fifth or more within a minute, more than the differences a ratio to E0 has to show. Each
 * side is combined over its turns (see combineTurns); failures in the warm-up count too. The
 * answers of both loads are checked first (checkAnswers).
 */
export async function measureInTurns(
  load: Load,
  reference: Load,
  options: { durationSec: number; referenceSec: number; warmupSec: number; slices: number },
): Promise<Turns> {
  const { durationSec, referenceSec, warmupSec, slices } = options;
  const whole = (sec: number) => Number.isInteger(sec / slices) && sec / slices >= 1;
  if (!Number.isInteger(slices) || slices < 1 || !whole(durationSec) || !whole(referenceSec))
    throw new RangeError(`${durationSec} s and ${referenceSec} s do not split into ${slices} turns of whole seconds`);
  await checkAnswers(load);
  await checkAnswers(reference);
  const warmupFailures = warmupSec > 0 ? (await measure(load, warmupSec, 0)).failures : 0;
  const loads: Measure[] = [];
  const references: Measure[] = [];
  for (let slice = 0; slice < slices; slice++) {
    loads.push(await measure(load, durationSec / slices, 0));
    references.push(await measure(reference, referenceSec / slices, 0));
  }
  const combined = combineTurns(loads);
  return {
    load: { ...combined, failures: combined.failures + warmupFailures },
    reference: combineTurns(references),
    turns: { load: loads.map((m) => m.reqPerSec), reference: references.map((m) => m.reqPerSec) },
  };
}

/**
 * Turns of equal length as one measure: req/s is the mean of the turns (the rate over all of them),
 * requests and failures their sums, bytes per response weighed by requests, p50 the median of the
 * turns' p50 (the lower middle one of an even number), p99 the highest of their p99. Each turn opens
 * its 50 connections afresh, so that p99 is a pessimistic one.
 */
export function combineTurns(measures: Measure[]): Measure {
  const [first] = measures;
  if (first === undefined) throw new Error('nothing to combine');
  const sorted = (pick: (m: Measure) => number) => measures.map(pick).sort((a, b) => a - b);
  const requests = measures.reduce((sum, m) => sum + m.requests, 0);
  const bytes = measures.reduce((sum, m) => sum + m.bytesPerResponse * m.requests, 0);
  return {
    name: first.name,
    reqPerSec: meanOf(measures.map((m) => m.reqPerSec)),
    p50: sorted((m) => m.p50)[Math.floor((measures.length - 1) / 2)] as number,
    p99: sorted((m) => m.p99).at(-1) as number,
    bytesPerResponse: requests > 0 ? Math.round(bytes / requests) : 0,
    requests,
    failures: measures.reduce((sum, m) => sum + m.failures, 0),
  };
}

/**
 * The lowest and highest ratio of a load's turn to the reference turn beside it: how far one run's
 * ratio can move with the machine. The two lists must pair up, turn by turn.
 */
export function turnRatioRange(turns: Turns['turns']): { low: number; high: number } {
  const { load, reference } = turns;
  if (load.length === 0 || load.length !== reference.length)
    throw new RangeError(`${load.length} turns of the load and ${reference.length} of the reference do not pair up`);
  const ratios = load.map((rate, i) => rate / (reference[i] as number));
  if (!ratios.every(Number.isFinite)) throw new RangeError('a reference turn measured no requests');
  return { low: Math.min(...ratios), high: Math.max(...ratios) };
}

function versionOf(name: string): string {
  try {
    return JSON.parse(readFileSync(join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'missing';
  }
}

export function environment() {
  const cpu = cpus();
  return {
    machine: { cores: cpu.length, cpu: cpu[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` },
    serverNodeFlags: SERVER_NODE_FLAGS,
    loadGeneratorNodeFlags: LOAD_GENERATOR_NODE_FLAGS,
    versions: Object.fromEntries(
      ['fastify', 'zod', 'fastify-type-provider-zod', 'better-sqlite3', 'drizzle-orm', '@fastify/swagger', 'autocannon'].map((n) => [
        n,
        versionOf(n),
      ]),
    ),
  };
}

export function table(rows: Record<string, string | number>[]): string {
  const keys = Object.keys(rows[0] ?? {});
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(keys), line(keys.map(() => '---')), ...rows.map((row) => line(keys.map((k) => row[k] ?? '')))].join('\n');
}

/**
 * Writes a run's report under bench/results/ as each of `names` (`*.json`). A run that is not `ok`
 * (errors, non-2xx responses, or for npm run bench an E0 drift over 10%) goes to `<name>.failed.json`
 * instead, ignored by git, so it never replaces the results of the last good run. Returns the paths.
 */
export function saveReport(names: string[], report: unknown, ok: boolean): string[] {
  const dir = join(projectRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(report, null, 2)}\n`;
  return names.map((name) => {
    if (!name.endsWith('.json')) throw new Error(`a report name ends in .json, not ${name}`);
    const file = join(dir, ok ? name : `${name.slice(0, -'.json'.length)}.failed.json`);
    writeFileSync(file, text);
    return file;
  });
}
