// The benchmark's load: every path and body of a rotation is sent, each path with its own body,
// and the 50 connections start at different points of the rotation.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measure } from '../bench/lib.js';

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
    const result = await measure(
      { name: 'rotation', url, method: 'POST', paths, bodies: paths.map((p) => `body for ${p}`) },
      1,
      0,
    );

    expect(result.failures).toBe(0);
    expect(result.requests).toBeGreaterThan(paths.length);
    expect(mismatched).toEqual([]);
    expect([...seen.keys()].sort()).toEqual([...paths].sort());
    expect(firstPaths).toHaveLength(50);
    // 200 paths over 50 connections: each starts 4 further on.
    expect(new Set(firstPaths)).toEqual(new Set(Array.from({ length: 50 }, (_, k) => `/item/${k * 4}`)));
  });
});
