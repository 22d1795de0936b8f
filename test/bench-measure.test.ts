// The benchmark's load: every path and body of a rotation is sent, each path with its own body,
// and the 50 connections start at different points of the rotation.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measure, measureInTurns } from '../bench/lib.js';

/** Every path answered, in order. */
const answered: string[] = [];

/** Runs of the same path among `paths`, in order, with their number of requests. */
function runsOf(wanted: string[]) {
  const runs: { path: string; count: number }[] = [];
  for (const path of answered.filter((p) => wanted.includes(p))) {
    const last = runs.at(-1);
    if (last?.path === path) last.count += 1;
    else runs.push({ path, count: 1 });
  }
  return runs;
}
const seen = new Map<string, number>();
const firstPaths: string[] = [];
const mismatched: string[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const path = request.url as string;
      answered.push(path);
      seen.set(path, (seen.get(path) ?? 0) + 1);
      // The first request on each connection shows where that connection starts its rotation.
      const socket = request.socket as typeof request.socket & { served?: boolean };
      if (!socket.served) firstPaths.push(path);
      socket.served = true;
      if (request.method === 'POST' && body !== `body for ${path}`) mismatched.push(`${path}: ${body}`);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('bench measure', () => {
  it('sends each path with its body and spreads the connections over the rotation', async () => {
    const paths = Array.from({ length: 200 }, (_, n) => `/item/${n}`);
    const result = await measure({ name: 'rotation', url, method: 'POST', paths, bodies: paths.map((p) => `body for ${p}`) }, 1, 0);

    expect(result.failures).toBe(0);
    expect(result.requests).toBeGreaterThan(paths.length);
    expect(mismatched).toEqual([]);
    expect([...seen.keys()].sort()).toEqual([...paths].sort());
    expect(firstPaths).toHaveLength(50);
    // 200 paths over 50 connections: each starts 4 further on.
    expect(new Set(firstPaths)).toEqual(new Set(Array.from({ length: 50 }, (_, k) => `/item/${k * 4}`)));
  });

  it('measures a load and its reference in turns, and sums each side over its turns', async () => {
    const result = await measureInTurns(
      { name: 'load', url, paths: ['/ld'] },
      { name: 'reference', url, paths: ['/rf'] },
      { durationSec: 2, referenceSec: 2, warmupSec: 0, slices: 2 },
    );

    const turns = runsOf(['/ld', '/rf']);
    expect(turns.map((t) => t.path)).toEqual(['/ld', '/rf', '/ld', '/rf']);
    const [ld1, rf1, ld2, rf2] = turns.map((t) => t.count) as [number, number, number, number];
    // A round counts the responses it received; up to 50 requests are still in flight when it stops.
    expect(result.load.requests).toBeLessThanOrEqual(ld1 + ld2);
    expect(result.load.requests).toBeGreaterThanOrEqual(ld1 + ld2 - 2 * 50);
    expect(result.reference.requests).toBeLessThanOrEqual(rf1 + rf2);
    expect(result.reference.requests).toBeGreaterThanOrEqual(rf1 + rf2 - 2 * 50);
    expect(result.load.name).toBe('load');
    expect(result.reference.name).toBe('reference');
    expect(result.load.failures + result.reference.failures).toBe(0);
    expect(result.load.reqPerSec).toBeGreaterThan(0);
    await expect(
      measureInTurns(
        { name: 'x', url, paths: ['/x'] },
        { name: 'y', url, paths: ['/y'] },
        { durationSec: 3, referenceSec: 1, warmupSec: 0, slices: 2 },
      ),
    ).rejects.toThrow(RangeError);
  });
});
