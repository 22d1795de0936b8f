// The benchmark's load: every path and body of a rotation is sent, each path with its own body,
// the 50 connections start at different points of the rotation, and a class measured in turns with
// E0 alternates with it and combines its turns.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAnswers, combineTurns, type Load, type Measure, measure, measureInTurns, turnRatioRange } from '../bench/lib.js';

type Received = { path: string; body: string; first: boolean };

/** Every request received, in order; `first` marks the first one on its connection. */
const received: Received[] = [];
let server: Server;
let url: string;

/** Requests for `paths` only (a test's own; a request of an earlier test may still arrive). */
const receivedFor = (paths: string[]) => received.filter((r) => paths.includes(r.path));

/** Runs of the same path, in order, with their number of requests. */
function runsOf(requests: Received[]) {
  const runs: { path: string; count: number }[] = [];
  for (const { path } of requests) {
    const last = runs.at(-1);
    if (last?.path === path) last.count += 1;
    else runs.push({ path, count: 1 });
  }
  return runs;
}

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const socket = request.socket as typeof request.socket & { served?: boolean };
      received.push({ path: request.url as string, body, first: !socket.served });
      socket.served = true;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('bench measure', () => {
  it('sends each path with its body and spreads the connections over a long rotation', async () => {
    const paths = Array.from({ length: 200 }, (_, n) => `/item/${n}`);
    const result = await measure({ name: 'rotation', url, method: 'POST', paths, bodies: paths.map((p) => `body for ${p}`) }, 1, 0);

    const mine = receivedFor(paths);
    expect(result.failures).toBe(0);
    expect(result.requests).toBeGreaterThan(paths.length);
    expect(mine.filter((r) => r.body !== `body for ${r.path}`)).toEqual([]);
    expect(new Set(mine.map((r) => r.path))).toEqual(new Set(paths));
    // 200 paths over 50 connections: each starts 4 further on.
    const firsts = mine.filter((r) => r.first).map((r) => r.path);
    expect(firsts).toHaveLength(50);
    expect(new Set(firsts)).toEqual(new Set(Array.from({ length: 50 }, (_, k) => `/item/${k * 4}`)));
  });

  it('spreads the connections over a rotation shorter than the connections', async () => {
    const paths = ['/short/a', '/short/b', '/short/c'];
    await measure({ name: 'short', url, paths }, 1, 0);

    const firsts = receivedFor(paths)
      .filter((r) => r.first)
      .map((r) => r.path);
    expect(firsts).toHaveLength(50);
    // The connections start evenly over the three paths, not all on the first.
    for (const path of paths) expect(firsts.filter((p) => p === path).length).toBeGreaterThanOrEqual(16);
  });

  it('sends every body of one path in turn, each connection from its own', async () => {
    const bodies = Array.from({ length: 64 }, (_, n) => `submission ${n}`);
    await measure({ name: 'bodies', url, method: 'POST', paths: ['/post'], bodies }, 1, 0);

    const mine = receivedFor(['/post']);
    expect(new Set(mine.map((r) => r.body))).toEqual(new Set(bodies));
    expect(new Set(mine.filter((r) => r.first).map((r) => r.body)).size).toBe(50);
  });

  it('refuses a load it cannot send as given', async () => {
    await expect(measure({ name: 'none', url, paths: [] }, 1, 0)).rejects.toThrow(RangeError);
    await expect(measure({ name: 'pairs', url, paths: ['/a', '/b'], bodies: ['1', '2', '3'] }, 1, 0)).rejects.toThrow(RangeError);
  });

  it('measures a load and its reference in turns, and sums each side over its turns', async () => {
    const result = await measureInTurns(
      { name: 'load', url, paths: ['/ld'] },
      { name: 'reference', url, paths: ['/rf'] },
      { durationSec: 2, referenceSec: 2, warmupSec: 0, slices: 2 },
    );

    // Each side's answer is checked once (one request each), then the turns alternate.
    const [checkLd, checkRf, ...turns] = runsOf(receivedFor(['/ld', '/rf']));
    expect([checkLd, checkRf]).toEqual([
      { path: '/ld', count: 1 },
      { path: '/rf', count: 1 },
    ]);
    expect(turns.map((t) => t.path)).toEqual(['/ld', '/rf', '/ld', '/rf']);
    const [ld1, rf1, ld2, rf2] = turns.map((t) => t.count) as [number, number, number, number];
    // A round counts the responses it received; up to 50 requests are still in flight when it stops.
    expect(result.load.requests).toBeLessThanOrEqual(ld1 + ld2);
    expect(result.load.requests).toBeGreaterThanOrEqual(ld1 + ld2 - 2 * 50);
    expect(result.reference.requests).toBeLessThanOrEqual(rf1 + rf2);
    expect(result.reference.requests).toBeGreaterThanOrEqual(rf1 + rf2 - 2 * 50);
    expect(result.turns.load).toHaveLength(2);
    expect(result.turns.reference).toHaveLength(2);
    expect(result.load.name).toBe('load');
    expect(result.reference.name).toBe('reference');
    expect(result.load.failures + result.reference.failures).toBe(0);
  });

  it('takes turns of whole seconds only', async () => {
    const turns = (durationSec: number, referenceSec: number, slices: number) =>
      measureInTurns(
        { name: 'x', url, paths: ['/x'] },
        { name: 'y', url, paths: ['/y'] },
        { durationSec, referenceSec, warmupSec: 0, slices },
      );
    await expect(turns(3, 1, 2)).rejects.toThrow(RangeError);
    await expect(turns(3, 2, 2)).rejects.toThrow(RangeError);
    await expect(turns(2, 2, 0)).rejects.toThrow(RangeError);
  });

  it('combines turns: mean req/s, summed requests and failures, weighted bytes, median p50, highest p99', () => {
    const turn = (reqPerSec: number, requests: number, bytesPerResponse: number, p50: number, p99: number, failures = 0): Measure => ({
      name: 'row',
      reqPerSec,
      requests,
      bytesPerResponse,
      p50,
      p99,
      failures,
    });
    expect(combineTurns([turn(1000, 2000, 100, 3, 9), turn(3000, 6000, 200, 1, 7, 2), turn(2000, 4000, 100, 2, 12)])).toEqual({
      name: 'row',
      reqPerSec: 2000,
      requests: 12_000,
      bytesPerResponse: 150,
      p50: 2,
      p99: 12,
      failures: 2,
    });
    // With an even number of turns, p50 is the lower of the two middle ones.
    expect(combineTurns([turn(1, 1, 1, 4, 4), turn(1, 1, 1, 1, 1), turn(1, 1, 1, 3, 3), turn(1, 1, 1, 2, 2)]).p50).toBe(2);
    expect(() => combineTurns([])).toThrow();
  });

  it('gives the lowest and highest ratio of a turn to the reference turn beside it', () => {
    // The highest load turn is not the highest ratio: each turn is set against its own reference.
    expect(turnRatioRange({ load: [3000, 4000, 2000], reference: [10_000, 20_000, 5000] })).toEqual({ low: 0.2, high: 0.4 });
    expect(turnRatioRange({ load: [700], reference: [1000] })).toEqual({ low: 0.7, high: 0.7 });
    expect(() => turnRatioRange({ load: [1, 2], reference: [1] })).toThrow(RangeError);
    expect(() => turnRatioRange({ load: [], reference: [] })).toThrow(RangeError);
    expect(() => turnRatioRange({ load: [1], reference: [0] })).toThrow(RangeError);
  });
});

// Guards against: a benchmark that took any fast answer for a good one. The load generator reads no
// body, dropped the failures of its warm-up rounds, and counted a timeout twice.
describe('bench: what counts as a failure', () => {
  let faulty: Server;
  let faultyUrl: string;
  let served500 = 0;
  beforeAll(async () => {
    faulty = createServer((request, response) => {
      if (request.url === '/hang') return;
      if (request.url === '/flaky' && served500 < 200) {
        served500++;
        response.writeHead(500).end();
        return;
      }
      if (request.url === '/status/404') return void response.writeHead(404, { 'content-type': 'application/json' }).end('{}');
      if (request.url === '/text') return void response.writeHead(200, { 'content-type': 'text/plain' }).end('not json');
      // Right only for a client that accepts gzip, as a per-coding cache gone wrong for identity would be.
      if (request.url === '/coded') {
        if (!/gzip/.test(request.headers['accept-encoding'] ?? ''))
          return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"path":"/elsewhere"}');
        const body = gzipSync(JSON.stringify({ path: request.url }));
        return void response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(body);
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: request.url }));
    });
    await new Promise<void>((resolve) => faulty.listen(0, '127.0.0.1', resolve));
    faultyUrl = `http://127.0.0.1:${(faulty.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    faulty.closeAllConnections();
    await new Promise<void>((resolve) => faulty.close(() => resolve()));
  });

  it('counts the failures of the warm-up round', async () => {
    const result = await measure({ name: 'flaky', url: faultyUrl, paths: ['/flaky'] }, 1, 1);
    expect(served500).toBe(200);
    expect(result.failures).toBe(200);
  });

  it('counts a timed-out request once', { timeout: 30_000 }, async () => {
    // autocannon times a request out after 10 s: in 11 s each of the 50 connections times out once.
    const result = await measure({ name: 'hang', url: faultyUrl, paths: ['/hang'] }, 11, 0);
    expect(result.requests).toBe(0);
    expect(result.failures).toBe(50);
  });

  it('checks every answer of a rotation once: status, JSON and the load’s own check', async () => {
    const echo: Load['check'] = ({ body, path }) => ((body as { path?: string }).path === path ? undefined : 'not the path asked');
    await expect(checkAnswers({ name: 'good', url: faultyUrl, paths: ['/a', '/b'], check: echo })).resolves.toBeUndefined();
    await expect(checkAnswers({ name: 'status', url: faultyUrl, paths: ['/a', '/status/404'] })).rejects.toThrow(
      'status: 1 wrong answers, the first: GET /status/404: status 404',
    );
    await expect(checkAnswers({ name: 'text', url: faultyUrl, paths: ['/text'] })).rejects.toThrow('a body that is not JSON');
    const wrong: Load['check'] = () => 'not the role asked for';
    await expect(checkAnswers({ name: 'wrong', url: faultyUrl, paths: ['/a', '/b'], check: wrong })).rejects.toThrow(
      'wrong: 2 wrong answers, the first: GET /a: not the role asked for',
    );
  });

  // Guards against (from a review of the bench): the answers were checked with fetch(), which asks
  // for gzip, while the load asks for no coding, so the bodies measured were never the ones checked.
  it('checks the answer the load is sent, in the coding the load asks for', async () => {
    const echo: Load['check'] = ({ body, path }) => ((body as { path?: string }).path === path ? undefined : 'not the path asked');
    await expect(checkAnswers({ name: 'identity', url: faultyUrl, paths: ['/coded'], check: echo })).rejects.toThrow(
      'identity: 1 wrong answers, the first: GET /coded: not the path asked',
    );
    const gzip = { 'accept-encoding': 'gzip, deflate, br' };
    await expect(checkAnswers({ name: 'gzip', url: faultyUrl, paths: ['/coded'], headers: gzip, check: echo })).resolves.toBeUndefined();
  });

  it('checks the answers of both loads before measuring in turns', async () => {
    const wrong: Load['check'] = () => 'wrong';
    await expect(
      measureInTurns(
        { name: 'load', url: faultyUrl, paths: ['/a'] },
        { name: 'reference', url: faultyUrl, paths: ['/b'], check: wrong },
        { durationSec: 1, referenceSec: 1, warmupSec: 0, slices: 1 },
      ),
    ).rejects.toThrow('reference: 1 wrong answers');
  });
});
