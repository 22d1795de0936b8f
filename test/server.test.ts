import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/paths.js';
import { SERVER_NODE_FLAGS } from '../src/server-flags.js';
import { readRawSeed, TempDirs } from './support/fixtures.js';
import { buildServer } from './support/process.js';

let serverScript = '';
const temp = new TempDirs();
const children = new Set<ChildProcess>();

type Running = { child: ChildProcess; port: number; output: () => string; stderr: () => string; exited: Promise<number | null> };

/** A port that was free a moment ago: listen on port 0, read it, close. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts the built server as `npm start` does, under its V8 flags (the code cache is made under them). */
function start(env: Record<string, string>, port = 0, script = serverScript): Running {
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, script], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'silent', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  return { child, port, output: () => output, stderr: () => stderr, exited };
}

async function startServer(databasePath: string, script = serverScript): Promise<Running> {
  const port = await freePort();
  const running = start({ DATABASE_PATH: databasePath }, port, script);
  await waitUntilReady(running, 15_000);
  return running;
}

async function waitUntilReady(running: Running, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void running.exited.then((code) => {
    exitCode = code;
  });
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`server exited with ${exitCode} before it was ready:\n${running.output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${running.port}/ready`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server not ready within ${timeoutMs} ms:\n${running.output()}`);
}

/** Resolves with the exit code, or rejects when the process has not exited within `ms`. */
function exitWithin(running: Running, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms:\n${running.output()}`)), ms);
  });
  return Promise.race([running.exited, timeout]).finally(() => clearTimeout(timer));
}

/** A private copy of the build's dist/, beside links to the project's files, that a test may change. */
function copyOfBuild(): string {
  const dir = temp.make();
  for (const entry of readdirSync(projectRoot)) {
    if (entry === 'dist' || entry.startsWith('.')) continue;
    symlinkSync(join(projectRoot, entry), join(dir, entry));
  }
  cpSync(dirname(serverScript), join(dir, 'dist'), { recursive: true });
  return join(dir, 'dist', 'server.js');
}

async function stop(running: Running): Promise<void> {
  running.child.kill('SIGTERM');
  expect(await exitWithin(running, 5_000)).toBe(0);
}

beforeAll(async () => {
  serverScript = await buildServer();
  expect(existsSync(serverScript)).toBe(true);
}, 120_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  temp.cleanup();
});

describe('the server process', () => {
  const raw = readRawSeed();

  it('starts on a new database, serves requests, and exits 0 on SIGTERM', async () => {
    const databasePath = join(temp.make(), 'kb.sqlite');
    const server = await startServer(databasePath);
    try {
      const meta = await fetch(`http://127.0.0.1:${server.port}/v1/meta`);
      expect(meta.status).toBe(200);
      const body = (await meta.json()) as { kbRelease: string; contentHash: string; counts: { roles: number } };
      expect(body.kbRelease).toBe(raw.release);
      expect(body.contentHash).toMatch(/^sha256:/);
      expect(body.counts.roles).toBe(raw.roles.length);
      expect(existsSync(databasePath)).toBe(true);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await exitWithin(server, 5_000)).toBe(0);
  });

  it('serves the API docs and their static files from the bundled build', async () => {
    const server = await startServer(join(temp.make(), 'kb.sqlite'));
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const page = await fetch(`${base}/docs`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('swagger-ui');
      // Files the docs plugin finds through its own folder in node_modules.
      for (const [path, type] of [
        ['/docs/static/swagger-ui-bundle.js', 'javascript'],
        ['/docs/static/index.css', 'text/css'],
        ['/docs/static/logo.svg', 'image/svg+xml'],
      ]) {
        const response = await fetch(`${base}${path}`);
        expect(response.status, path).toBe(200);
        expect(response.headers.get('content-type'), path).toContain(type);
        expect((await response.arrayBuffer()).byteLength, path).toBeGreaterThan(100);
      }
      // The bundle finds the files it compresses where it finds the files it serves.
      const plain = await fetch(`${base}/docs/static/swagger-ui-bundle.js`, { headers: { 'accept-encoding': 'identity' } });
      const gzipped = await fetch(`${base}/docs/static/swagger-ui-bundle.js`, { headers: { 'accept-encoding': 'gzip' } });
      expect(gzipped.headers.get('content-encoding')).toBe('gzip');
      expect(Number(gzipped.headers.get('content-length'))).toBeLessThan(Number(plain.headers.get('content-length')) / 3);
      expect(Buffer.from(await gzipped.arrayBuffer()).equals(Buffer.from(await plain.arrayBuffer()))).toBe(true);
      const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
      expect(spec.openapi).toBe('3.1.0');
      expect(Object.keys(spec.paths)).toContain('/v1/assessments');
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await exitWithin(server, 5_000)).toBe(0);
  });

  it('starts again on an existing database and exits 0 on SIGINT', async () => {
    const databasePath = join(temp.make(), 'kb.sqlite');
    const first = await startServer(databasePath);
    const hash = ((await (await fetch(`http://127.0.0.1:${first.port}/v1/meta`)).json()) as { contentHash: string }).contentHash;
    first.child.kill('SIGTERM');
    expect(await exitWithin(first, 5_000)).toBe(0);

    const second = await startServer(databasePath);
    try {
      const ready = await fetch(`http://127.0.0.1:${second.port}/ready`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { status: string }).status).toBe('ready');
      const meta = (await (await fetch(`http://127.0.0.1:${second.port}/v1/meta`)).json()) as { contentHash: string };
      expect(meta.contentHash).toBe(hash);
    } finally {
      second.child.kill('SIGINT');
    }
    expect(await exitWithin(second, 5_000)).toBe(0);
  });

  it('exits non-zero and names PORT when PORT is invalid', async () => {
    const running = start({ DATABASE_PATH: join(temp.make(), 'kb.sqlite'), PORT: 'abc' });
    const code = await exitWithin(running, 10_000);
    // README: a bad value stops the server with exit code 78 (EX_CONFIG).
    expect(code).toBe(78);
    expect(running.stderr()).toContain('PORT');
  });

  it('exits non-zero and names HOST when HOST cannot be listened on', async () => {
    // An address of TEST-NET-1 (RFC 5737), which no interface here has: refused at once, no DNS asked.
    const databasePath = join(temp.make(), 'kb.sqlite');
    const running = start({ DATABASE_PATH: databasePath, HOST: '192.0.2.1' }, await freePort());
    const code = await exitWithin(running, 10_000);
    expect(code).toBe(1);
    expect(running.stderr()).toContain('HOST "192.0.2.1" cannot be listened on');
    // Refused before the database was opened. Guards against: a start that could not listen had
    // already created, migrated and seeded it.
    expect(existsSync(databasePath)).toBe(false);
  });

  // Guards against: a new version started on the port of a running one (a deploy mistake) migrated
  // their shared database before it failed to listen, which took the running server out of service.
  it('exits non-zero and names PORT when the port is taken, leaving the database as it was', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const databasePath = join(temp.make(), 'kb.sqlite');
      const running = start({ DATABASE_PATH: databasePath }, port);
      const code = await exitWithin(running, 10_000);
      expect(code).toBe(1);
      expect(running.stderr()).toContain(`PORT ${port} on HOST "127.0.0.1" cannot be listened on`);
      expect(existsSync(databasePath)).toBe(false);
    } finally {
      taken.close();
    }
  });

  it('exits non-zero with a message when the database cannot be opened', async () => {
    const file = join(temp.make(), 'not-a-folder');
    writeFileSync(file, 'x');
    const running = start({ DATABASE_PATH: join(file, 'kb.sqlite') }, await freePort());
    const code = await exitWithin(running, 10_000);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(running.stderr()).toMatch(/not-a-folder|ENOTDIR/);
  });

  // Guards against: the build made the cache without the flags `npm start` runs the server with, so
  // V8 refused it and every start compiled the bundle and wrote the cache again.
  it('starts from the code cache the build wrote, and leaves it as it is', async () => {
    const cacheFile = join(dirname(serverScript), 'server.bundle.cache');
    const before = readFileSync(cacheFile);
    const modified = statSync(cacheFile).mtimeMs;
    // A cache that V8 refused would be written again once the server listens.
    await stop(await startServer(join(temp.make(), 'kb.sqlite')));
    expect(statSync(cacheFile).mtimeMs).toBe(modified);
    expect(readFileSync(cacheFile).equals(before)).toBe(true);
    // Nor did any start before this one (in any test file) write it again since the build finished.
    const built = statSync(join(dirname(dirname(serverScript)), 'complete')).mtimeMs;
    expect(modified).toBeLessThanOrEqual(built);
  });

  it('writes the code cache again when it is missing, and the next start uses it', async () => {
    const script = copyOfBuild();
    const cacheFile = join(dirname(script), 'server.bundle.cache');
    rmSync(cacheFile);
    const databasePath = join(temp.make(), 'kb.sqlite');
    await stop(await startServer(databasePath, script));
    expect(existsSync(cacheFile)).toBe(true);
    const written = readFileSync(cacheFile);
    const modified = statSync(cacheFile).mtimeMs;
    expect(written.length).toBeGreaterThan(100_000);
    await stop(await startServer(databasePath, script));
    expect(statSync(cacheFile).mtimeMs).toBe(modified);
    expect(readFileSync(cacheFile).equals(written)).toBe(true);
    expect(readdirSync(dirname(script)).sort()).toEqual(['server.bundle.cache', 'server.bundle.cjs', 'server.bundle.cjs.map', 'server.js']);
  });
});
