// Processes starting on one database file at the same moment: each opens it (WAL mode, migrations)
// as `npm start` and `npm run db:migrate` do, released together once all have loaded the code.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/paths.js';
import { TempDirs } from './support/fixtures.js';

const temp = new TempDirs();
afterAll(() => temp.cleanup());

const clientModule = pathToFileURL(join(projectRoot, 'src', 'db', 'client.ts')).href;
const PROCESSES = 4;

/** Starts a process that says `loaded`, waits for a line on its stdin, opens the database and prints how that went. */
function opener(script: string, databasePath: string): { child: ChildProcessWithoutNullStreams; lines: string[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', script, databasePath], { cwd: projectRoot });
  const lines: string[] = [];
  let pending = '';
  child.stdout.on('data', (chunk) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.on('data', (chunk) => lines.push(`stderr: ${chunk}`));
  return { child, lines };
}

async function until(check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('processes starting on one database at once', () => {
  // Guards against (from a review): the switch to WAL answered "database is locked" at once, and the
  // migrations were read before the write lock was taken, so two processes both applied them and one
  // failed ("table `assessments` already exists"): a server and `db:migrate` could not start together.
  it('all open it, and the migrations are applied once', async () => {
    const dir = temp.make();
    const script = join(dir, 'open.mjs');
    writeFileSync(
      script,
      `const { openDatabase } = await import(${JSON.stringify(clientModule)});
console.log('loaded');
process.stdin.once('data', () => {
  try {
    const { sqlite, migrationsApplied } = openDatabase(process.argv[2]);
    const recorded = sqlite.prepare('select count(*) from __drizzle_migrations').pluck().get();
    sqlite.close();
    console.log(JSON.stringify({ migrationsApplied, recorded }));
  } catch (error) {
    console.log(JSON.stringify({ error: String(error.message) }));
  }
  process.exit(0);
});
`,
    );
    for (let round = 0; round < 3; round++) {
      const databasePath = join(dir, `kb-${round}.sqlite`);
      const openers = Array.from({ length: PROCESSES }, () => opener(script, databasePath));
      await until(() => openers.every(({ lines }) => lines.includes('loaded')));
      for (const { child } of openers) child.stdin.write('go\n');
      await Promise.all(openers.map(({ child }) => new Promise((resolve) => child.once('exit', resolve))));
      const outcomes = openers.map(({ lines }) => JSON.parse(lines.find((line) => line.startsWith('{')) ?? '{"error":"no answer"}'));
      const errors = outcomes.filter((outcome) => 'error' in outcome);
      expect(errors, JSON.stringify(errors)).toEqual([]);
      const migrations = outcomes.map((outcome) => outcome.recorded as number);
      expect(new Set(migrations).size).toBe(1);
      // One process applied every migration; the others found them applied.
      expect(outcomes.map((outcome) => outcome.migrationsApplied).sort()).toEqual([...Array(PROCESSES - 1).fill(0), migrations[0]]);
    }
  }, 60_000);
});
