// The app's close() on a database file, in a process with nothing else to keep it alive: the
// background checkpoint worker must not let the process leave before the database is closed.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/paths.js';
import { TempDirs } from './support/fixtures.js';

const temp = new TempDirs();
// The sources run through tsx's loader: the built server is one bundle that does not export buildApp.
const appModule = pathToFileURL(join(projectRoot, 'src', 'app.ts')).href;

afterAll(() => temp.cleanup());

describe('closing the app', () => {
  it('closes the database, checkpointing everything, before the process exits', async () => {
    const dir = temp.make();
    const databasePath = join(dir, 'kb.sqlite');
    const script = join(dir, 'close.mjs');
    writeFileSync(
      script,
      `const { buildApp } = await import(${JSON.stringify(appModule)});
const app = await buildApp({ databasePath: ${JSON.stringify(databasePath)} });
await app.ready();
const created = await app.inject({ method: 'POST', url: '/v1/assessments/batch', payload: { items: [] } });
await app.close();
console.log(JSON.stringify({ closed: true, open: app.repository.sqlite.open, status: created.statusCode }));
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(output, output).toContain('"closed":true');
    expect(JSON.parse(output.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ closed: true, open: false });
    expect(code).toBe(0);
    // The last connection's close checkpointed the whole log and removed it.
    expect(existsSync(`${databasePath}-wal`)).toBe(false);
  });
});
