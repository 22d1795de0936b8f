// The server's connections stay under the open-file limit. Guards against (from a security review):
// about 22,500 connections that never finished their headers, cheap for a client to hold, took every
// descriptor of a process limited to 20,000 open files; the load monitor's memory sample, which reads
// a file, then threw EMFILE outside any request and ended the process (1,100 with `ulimit -n 1024`).
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { connectionLimit, openFileLimit, RESERVED_FILE_DESCRIPTORS } from '../src/http-edges.js';
import { buildTestApp } from './helpers.js';
import { get, listenLocally } from './support/http.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('the open-file limit', () => {
  it('is read as the soft limit of /proc/self/limits, and is unknown where that cannot be read', () => {
    expect(openFileLimit(() => LIMITS)).toBe(1024);
    expect(openFileLimit(() => LIMITS.replace('1024    ', 'unlimited'))).toBeUndefined();
    expect(
      openFileLimit(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
    // On this machine (Linux) the real file gives a number.
    expect(openFileLimit()).toBeGreaterThan(0);
  });

  it('leaves descriptors for the database, the logs and Node below the connections', () => {
    expect(connectionLimit(1024)).toBe(1024 - RESERVED_FILE_DESCRIPTORS);
    expect(connectionLimit(100)).toBe(16);
    expect(connectionLimit(undefined)).toBeUndefined();
  });
});

describe('a server at its connection limit', () => {
  let app: App | undefined;
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await app?.close();
  });

  it('takes its own limit from the open-file limit', async () => {
    const defaults = await buildTestApp();
    try {
      expect(defaults.server.maxConnections).toBe(connectionLimit(openFileLimit()));
    } finally {
      await defaults.close();
    }
  });

  it('closes the connections over it as they come, and goes on serving the others', async () => {
    app = await buildTestApp({ maxConnections: 3 });
    const { port, base } = await listenLocally(app);
    const open = (): Promise<{ socket: Socket; closed: Promise<void> }> =>
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        sockets.push(socket);
        const closed = new Promise<void>((done) => socket.once('close', () => done()));
        socket.once('error', () => undefined);
        socket.once('connect', () => resolve({ socket, closed }));
        socket.once('error', reject);
      });
    // Three idle connections that never finish their headers hold every place.
    const held = [await open(), await open(), await open()];
    for (const { socket } of held) socket.write('GET /v1/roles HTTP/1.1\r\nHost: x\r\n');
    const over = await open();
    await over.closed;
    // Once one of them goes, a client is served again.
    held[0]?.socket.destroy();
    await held[0]?.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const answer = await get(base, '/health', { connection: 'close' });
    expect(answer.status).toBe(200);
  });
});
