// Every server a bench starts runs under the same V8 flags, the results record them, and the API
// ships with them: a flag that changes how fast a server runs must not be measured without being
// part of `npm start`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environment, LOAD_GENERATOR_NODE_FLAGS, requireLoadGeneratorFlags, startProcess } from '../bench/lib.js';
import { projectRoot } from '../src/paths.js';
import { SERVER_NODE_FLAGS } from '../src/server-flags.js';

const dir = mkdtempSync(join(tmpdir(), 'rc-bench-servers-'));
/** A server answering with its V8 flags and its arguments; it listens on a port given last, or on PORT. */
const script = join(dir, 'flags-server.mjs');
beforeAll(() =>
  writeFileSync(
    script,
    [
      "import { createServer } from 'node:http';",
      'const args = process.argv.slice(2);',
      'createServer((_q, s) => s.end(JSON.stringify({ execArgv: process.execArgv, args })))',
      "  .listen(Number(/^\\d+$/.test(args.at(-1) ?? '') ? args.at(-1) : process.env.PORT), process.env.HOST);",
    ].join('\n'),
  ),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the script as a bench starts a server and returns what it answers. */
async function startedWith(args: string[], portArgument: boolean) {
  const server = await startProcess([script, ...args], {}, { readyPath: '/', portArgument });
  try {
    return { port: server.port, answer: (await (await fetch(server.url)).json()) as { execArgv: string[]; args: string[] } };
  } finally {
    await server.stop();
  }
}

// startProcess gives up on a server after 30 s and kills it: the tests wait longer than that.
describe('bench servers', { timeout: 45_000 }, () => {
  it('start with the flags, before the script and its arguments', async () => {
    const { answer } = await startedWith(['--flag-for-the-script'], false);
    expect(answer).toEqual({ execArgv: SERVER_NODE_FLAGS, args: ['--flag-for-the-script'] });
  });

  it('take a port argument last, after the flags and the arguments (json-server takes `--port N`)', async () => {
    const { port, answer } = await startedWith(['--port'], true);
    expect(answer).toEqual({ execArgv: SERVER_NODE_FLAGS, args: ['--port', String(port)] });
  });

  it('are the flags every results file records', () => {
    expect(environment().serverNodeFlags).toEqual(SERVER_NODE_FLAGS);
  });

  it("are recorded with the load generator's flags, which every bench script is run under", () => {
    expect(environment().loadGeneratorNodeFlags).toEqual(LOAD_GENERATOR_NODE_FLAGS);
    const { scripts } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const [name, file] of [
      ['bench', 'run'],
      ['bench:peers', 'peers'],
      ['bench:scale', 'scale'],
    ] as const) {
      expect(scripts[name], name).toMatch(
        new RegExp(`(^|&& )node ${LOAD_GENERATOR_NODE_FLAGS.join(' ')} --import tsx bench/${file}\\.ts$`),
      );
    }
    // A script started otherwise stops before it starts a server.
    expect(() => requireLoadGeneratorFlags([])).toThrow(/--no-allocation-site-pretenuring: start the bench with npm run bench/);
    expect(() => requireLoadGeneratorFlags(['--import', 'tsx', ...LOAD_GENERATOR_NODE_FLAGS])).not.toThrow();
  });

  it('are the flags npm start runs the API with', () => {
    expect(SERVER_NODE_FLAGS).toContain('--no-memory-reducer');
    const { scripts } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.start).toContain(`node ${SERVER_NODE_FLAGS.join(' ')} dist/server.js`);
    // In place of the script's shell, so that a signal to npm start reaches the server.
    expect(scripts.start).toMatch(/&& exec node /);
  });

  it('include the bare server, answering E0 and the two references as the bench checks them', async () => {
    const server = await startProcess([join(projectRoot, 'bench', 'baseline-server.mjs')], {}, { readyPath: '/' });
    try {
      expect(await (await fetch(server.url)).json()).toEqual({ hello: 'world' });
      const large = (await (await fetch(`${server.url}/large`)).json()) as { filler: string };
      expect(large.filler).toHaveLength(13_000);
      const post = (body: unknown) =>
        fetch(`${server.url}/stored`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      // It parses the body it is sent: a submission's answers are 201, anything else 400.
      const accepted = await post({ answers: [{ questionId: 'q', value: 3 }] });
      expect(accepted.status).toBe(201);
      const text = await accepted.text();
      expect(text.length).toBeGreaterThan(9_980);
      expect((JSON.parse(text) as { filler: string }).filler).toHaveLength(9_980);
      expect((await post({ items: [] })).status).toBe(400);
    } finally {
      await server.stop();
    }
  });
});
