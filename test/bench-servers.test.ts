// Every server a bench starts runs under the same V8 flags, and the API ships with them: a flag that
// changes how fast a server runs must not be measured without being part of `npm start`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS, startProcess } from '../bench/lib.js';
import { projectRoot } from '../src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'rc-bench-servers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench servers', () => {
  it('start with the flags the benches record', { timeout: 30_000 }, async () => {
    const script = join(dir, 'flags-server.mjs');
    writeFileSync(
      script,
      [
        "import { createServer } from 'node:http';",
        'createServer((_q, s) => s.end(JSON.stringify(process.execArgv))).listen(Number(process.env.PORT), process.env.HOST);',
      ].join('\n'),
    );
    const server = await startProcess([script], {}, { readyPath: '/' });
    try {
      const execArgv = await (await fetch(server.url)).json();
      expect(execArgv).toEqual(SERVER_NODE_FLAGS);
    } finally {
      await server.stop();
    }
  });

  it('are the flags npm start runs the API with', () => {
    expect(SERVER_NODE_FLAGS).toContain('--no-memory-reducer');
    const { scripts } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.start).toContain(`node ${SERVER_NODE_FLAGS.join(' ')} dist/server.js`);
  });
});
