// Operations at their edges: settings read from env files, databases that cannot be opened, repeated
// signals and backups; each test names the fault it guards against. Process tests run a private build
// of src/ (test/support/process.ts).
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { freePort } from '../bench/lib.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { loadContent } from '../src/content/load.js';
import { openDatabase } from '../src/db/client.js';
import { seedDatabase } from '../src/db/seed.js';
import { LOW_DISK_BYTES, type StorageProbes, storageDiagnosis } from '../src/db/storage-diagnosis.js';
import { projectRoot } from '../src/paths.js';
import { editJson } from './support/fixtures.js';
import {
  exitWithin,
  questions,
  sendInTwoParts,
  serverBuiltForFile,
  sleep,
  spawnServer,
  startServer,
  submission,
} from './support/process.js';

const { temp, script } = serverBuiltForFile();

/** What loadConfig makes of `env`: the value `pick` reads, or 'refused' for a ConfigError. */
function configOutcome<T>(env: Record<string, string>, pick: (config: ReturnType<typeof loadConfig>) => T): T | 'refused' {
  try {
    return pick(loadConfig(env));
  } catch (error) {
    if (error instanceof ConfigError) return 'refused';
    throw error;
  }
}

/** A migrated and seeded database file, closed. */
function seededDatabase(): string {
  const path = join(temp.make('rc-ops-db-'), 'kb.sqlite');
  const { sqlite, db } = openDatabase(path);
  try {
    seedDatabase(db, loadContent());
  } finally {
    sqlite.close();
  }
  return path;
}

/** Runs a script of scripts/ through tsx (as `npm run db:*` does), with DATABASE_PATH set, as `uid` when given. */
function runScript(file: string, args: string[], databasePath: string, env: Record<string, string> = {}, uid?: number) {
  const tsx = join(projectRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  return new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      process.execPath,
      [tsx, join('scripts', file), ...args],
      {
        cwd: projectRoot,
        env: { PATH: process.env.PATH ?? '', DATABASE_PATH: databasePath, ...env },
        timeout: 30_000,
        ...(uid === undefined ? {} : { uid, gid: uid }),
      },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: stdout + stderr }),
    );
  });
}

describe('configuration', () => {
  it('trims DATABASE_PATH and HOST as it trims every number (or refuses them): a CRLF env file must not open another database', () => {
    // Guards against: an env file saved with CRLF line ends, or a trailing blank, gives "value\r" /
    // "value ". PORT=" 3000\r" was read as 3000 but the strings verbatim: DATABASE_PATH then created,
    // migrated and served a new empty database beside the real one ("kb.sqlite\r"), and HOST failed
    // at listen with exit 1 instead of a configuration error.
    expect(configOutcome({ PORT: ' 3000\r' }, (c) => c.port)).toBe(3000);
    expect(configOutcome({ DATABASE_PATH: './data/kb.sqlite\r' }, (c) => c.databasePath)).toBe('./data/kb.sqlite');
    expect(configOutcome({ HOST: ' 127.0.0.1 ' }, (c) => c.host)).toBe('127.0.0.1');
    expect(configOutcome({ LOG_LEVEL: 'warn\r', DATABASE_SYNCHRONOUS: ' full' }, (c) => [c.logLevel, c.synchronous])).toEqual([
      'warn',
      'full',
    ]);
  });

  it('refuses a CORS_ORIGINS list that names no origin at all instead of silently allowing none', () => {
    // Guards against: README says "`*` alone, or a comma-separated list of allowed browser origins",
    // but "," (or " , ") passed the check (every entry of an empty list is valid) and became [], so
    // every browser was refused. TRUST_PROXY refuses the same mistake.
    expect(configOutcome({ TRUST_PROXY: ',' }, (c) => c.trustProxy)).toBe('refused');
    expect(configOutcome({ CORS_ORIGINS: ',' }, (c) => c.corsOrigins)).toBe('refused');
  });
});

describe('start-up on unusual databases', () => {
  it('names the database file when DATABASE_PATH is a file that is not SQLite', async () => {
    const path = join(temp.make('rc-ops-notdb-'), 'kb.sqlite');
    writeFileSync(path, `${'this is a text file, not a SQLite database. '.repeat(20)}\n`);
    const server = spawnServer(script(), { DATABASE_PATH: path }, await freePort());
    const exit = await exitWithin(server, 15_000);
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    // Guards against: the whole output was "file is not a database", naming neither the file nor the setting.
    expect(server.output()).toMatch(/kb\.sqlite|DATABASE_PATH/);
  });
});

describe('signals', () => {
  it('keeps draining when a second SIGTERM arrives during the graceful shutdown, and exits 0', async () => {
    const databasePath = join(temp.make('rc-ops-signal-'), 'kb.sqlite');
    const server = await startServer(script(), databasePath, { SHUTDOWN_GRACE_MS: '10000' });
    const qs = await questions(server.url);
    // A request the server is in the middle of reading when the signals come.
    const { reply, finish } = sendInTwoParts(server.url, '/v1/assessments', submission(qs, 'double-signal', 1));
    const outcome = reply.then(
      (r) => r.status,
      (error: Error & { code?: string }) => error.code ?? 'error',
    );
    await sleep(200);
    server.child.kill('SIGTERM');
    await sleep(150);
    // A supervisor or an operator repeating the signal (or SIGINT twice from a terminal). Guards
    // against: the handlers were registered once, so the repeat killed the process mid-request.
    server.child.kill('SIGTERM');
    await sleep(150);
    finish();
    const exit = await exitWithin(server, 15_000);
    expect({ request: await outcome, exit }).toEqual({ request: 201, exit: { code: 0, signal: null } });
  }, 40_000);
});

describe('what the server logs of its start and its stop', () => {
  // Guards against (from an operations review): the start named no database file (a relative
  // DATABASE_PATH left no trace of where the data went), migrations applied by an upgrade were not
  // logged, and nothing said the shutdown had ended, or how.
  it('names the database, the migrations it applied and the release, then its exit', async () => {
    const databasePath = join(temp.make('rc-ops-log-'), 'kb.sqlite');
    const lines = (server: { output: () => string }) =>
      server
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const ready = (server: { output: () => string }) => lines(server).find((line) => line.msg === 'knowledge base ready');
    const first = await startServer(script(), databasePath, { LOG_LEVEL: 'info' });
    first.child.kill('SIGTERM');
    expect(await exitWithin(first, 15_000)).toEqual({ code: 0, signal: null });
    const second = await startServer(script(), databasePath, { LOG_LEVEL: 'info' });
    second.child.kill('SIGTERM');
    await exitWithin(second, 15_000);
    expect(ready(first)).toMatchObject({ database: databasePath, changed: true, release: expect.any(String) });
    expect(ready(first)?.migrationsApplied).toBeGreaterThan(0);
    expect(ready(second)).toMatchObject({ database: databasePath, migrationsApplied: 0, changed: false });
    expect(lines(first).at(-1)).toMatchObject({ msg: 'shut down', exitCode: 0 });
  }, 60_000);
});

describe('db:backup', () => {
  // Guards against: a relative <file> is taken from the project folder (npm runs scripts there), and
  // the message echoed it as given, so a backup asked for from another folder was not where it said.
  it('names the copy by its full path', async () => {
    const target = join(temp.make('rc-ops-relative-'), 'copy.sqlite');
    const result = await runScript('db-backup.ts', [relative(projectRoot, target)], seededDatabase());
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(` to ${target}: `);
    expect(existsSync(target)).toBe(true);
  }, 40_000);

  // Guards against (from an operator's walk through the README): a relative DATABASE_PATH is taken
  // from the project folder too, and the message echoed it as given, so a backup of another database
  // than the one a server started elsewhere uses looked like the right one.
  it('names the database it backed up by its full path', async () => {
    const databasePath = seededDatabase();
    const target = join(temp.make('rc-ops-source-'), 'copy.sqlite');
    const result = await runScript('db-backup.ts', [target], relative(projectRoot, databasePath));
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`backed up ${databasePath} to ${target}: `);
    const missing = await runScript('db-backup.ts', [target], join('no-such-folder', 'kb.sqlite'));
    expect(missing.output).toContain(`no database at ${join(projectRoot, 'no-such-folder', 'kb.sqlite')} (DATABASE_PATH)`);
  }, 40_000);

  it('refuses to "back up" the database onto itself instead of reporting a backup that does not exist', async () => {
    const databasePath = seededDatabase();
    // The same file, reached through a symlink to its folder (path.join would normalise a `./` away).
    const link = join(temp.make('rc-ops-link-'), 'data');
    symlinkSync(dirname(databasePath), link);
    const target = join(link, 'kb.sqlite');
    const result = await runScript('db-backup.ts', [target], databasePath);
    // Guards against: exit 0 and "backed up …/kb.sqlite to …/./kb.sqlite: 41 pages" with no copy
    // anywhere, and the live file rewritten through a second connection.
    expect(existsSync(databasePath)).toBe(true);
    expect({ code: result.code === 0 ? 0 : 'non-zero', claimsBackup: /backed up/.test(result.output) }).toEqual({
      code: 'non-zero',
      claimsBackup: false,
    });
  }, 40_000);

  // Guards against: comparing resolved paths does not see through a hard link (or a second bind
  // mount of the data folder), so the database was still "backed up" onto itself with no copy made.
  it('refuses a target that is the database file under another name (a hard link)', async () => {
    const databasePath = seededDatabase();
    const target = join(dirname(databasePath), 'backup.sqlite');
    linkSync(databasePath, target);
    const result = await runScript('db-backup.ts', [target], databasePath);
    expect({ code: result.code === 0 ? 0 : 'non-zero', claimsBackup: /backed up/.test(result.output) }, result.output).toEqual({
      code: 'non-zero',
      claimsBackup: false,
    });
  }, 40_000);
});

/** The output shows a stack trace: a line of the form "    at fn (file:line:col)". */
const hasStack = (output: string) => /^\s+at .+[:(]/m.test(output);

describe('db:backup at its edges', () => {
  it('replaces an earlier backup only with a checked copy, and leaves no -wal, -shm or partial file beside it', async () => {
    const databasePath = seededDatabase();
    const folder = temp.make('rc-ops-backups-');
    const target = join(folder, 'kb-backup.sqlite');
    const first = await runScript('db-backup.ts', [target], databasePath);
    const second = await runScript('db-backup.ts', [target], databasePath);
    // Guards against: the copy was opened read-only for its integrity check, which left its -wal and
    // -shm behind (a read-only connection cannot remove them).
    expect({ first: first.code, second: second.code, files: readdirSync(folder) }, second.output).toEqual({
      first: 0,
      second: 0,
      files: ['kb-backup.sqlite'],
    });
  }, 40_000);

  // Guards against (from a review): a backup killed outright (SIGKILL) left its hidden partial copy,
  // the size of the database, and no later run removed it.
  it("removes the partial copies of earlier backups to the same name whose process is gone, once an hour old, and no one else's", async () => {
    const databasePath = seededDatabase();
    const folder = temp.make('rc-ops-backups-');
    const target = join(folder, 'kb-backup.sqlite');
    const hourAgo = new Date(Date.now() - 61 * 60 * 1000);
    // 4194304 is above Linux's largest process id: no process has it.
    const abandoned = ['.kb-backup.sqlite.partial-4194304', '.kb-backup.sqlite.partial-4194304-wal'];
    const kept = [
      '.kb-backup.sqlite.partial-4194303x', // not a partial copy's name
      `.kb-backup.sqlite.partial-${process.pid}`, // its process is alive (this one)
      '.other.sqlite.partial-4194304', // another backup's
      '.kb-backup.sqlite.partial-4194302', // touched within the hour
    ];
    for (const name of [...abandoned, ...kept]) writeFileSync(join(folder, name), 'partial');
    for (const name of [...abandoned, ...kept.slice(0, 3)]) utimesSync(join(folder, name), hourAgo, hourAgo);
    const result = await runScript('db-backup.ts', [target], databasePath);
    expect(result.code, result.output).toBe(0);
    expect(readdirSync(folder).sort()).toEqual(['kb-backup.sqlite', ...kept].sort());
  }, 40_000);

  /** Processes whose parent is `pid` and that have not ended (a zombie has ended). */
  function liveChildrenOf(pid: number): number {
    let count = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = (() => {
        try {
          return readFileSync(`/proc/${entry}/stat`, 'utf8');
        } catch {
          return '';
        }
      })();
      // pid (comm) state ppid …: comm may hold spaces, so the fields are read after its last ')'.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid && state !== 'Z') count++;
    }
    return count;
  }

  /** A seeded database of about 300 MB, so that a backup's copy and check last long enough to be interrupted. */
  function largeDatabase(): string {
    const databasePath = seededDatabase();
    const db = new Database(databasePath);
    try {
      db.exec('create table ballast (b blob)');
      const add = db.prepare('insert into ballast values (randomblob(1048576))');
      db.transaction(() => {
        for (let i = 0; i < 300; i++) add.run();
      })();
    } finally {
      db.close();
    }
    return databasePath;
  }

  /**
   * Starts a backup of `databasePath` in a process group of its own (`command` runs the script), and
   * once its copy has written a first megabyte, sends `signal` to the group or to the first process
   * only (`twice`: again 3 ms later): how it ended, what it printed, and the files left in the backup's folder and the database's.
   */
  async function interruptedBackup(
    databasePath: string,
    command: string[],
    signal: NodeJS.Signals,
    to: 'group' | 'process',
    twice = false,
  ) {
    const folder = temp.make('rc-ops-backups-');
    const [file, ...args] = command as [string, ...string[]];
    const child = spawn(file, [...args, join(folder, 'kb-backup.sqlite')], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_PATH: databasePath },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const exited = new Promise<string>((resolve) => child.once('exit', (code, killedBy) => resolve(killedBy ?? `exit ${code}`)));
    const copying = () =>
      readdirSync(folder).some(
        (name) =>
          name.includes('.partial-') &&
          !name.endsWith('-journal') &&
          (statSync(join(folder, name), { throwIfNoEntry: false })?.size ?? 0) > 1 << 20,
      );
    const started = Date.now();
    while (!copying() && child.exitCode === null && Date.now() - started < 20_000) await new Promise((resolve) => setTimeout(resolve, 2));
    const wasCopying = copying();
    const target = to === 'group' ? -(child.pid as number) : (child.pid as number);
    process.kill(target, signal);
    if (twice) {
      // While the first signal's handler waits for the copy's process to end.
      await new Promise((resolve) => setTimeout(resolve, 3));
      if (child.exitCode === null && child.signalCode === null) process.kill(target, signal);
    }
    // 100 ms on, a copy still running under the command was not killed but waited for.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const copyRunning = liveChildrenOf(child.pid as number) > 0;
    const ended = await exited;
    return { wasCopying, copyRunning, ended, output, left: readdirSync(folder), beside: readdirSync(dirname(databasePath)) };
  }

  // Guards against (from a review): the copy and its check ran on the main thread, one long call
  // into SQLite each, so the signal handler could not run; tsx, behind npm run, killed the process
  // 60 ms after Ctrl-C, and the partial copy (400 MB in the review) stayed for an hour.
  it('stopped by Ctrl-C while it copies, leaves no partial copy, nor the log its copy opened beside the database', async () => {
    const result = await interruptedBackup(largeDatabase(), ['npm', 'run', '--silent', 'db:backup', '--'], 'SIGINT', 'group');
    // npm, at the head of the group, takes the signal too: it ends by it, or with the command's 130.
    expect(
      {
        wasCopying: result.wasCopying,
        interrupted: ['SIGINT', 'exit 130'].includes(result.ended),
        left: result.left,
        beside: result.beside,
        fatal: /FATAL|Abort/i.test(result.output),
      },
      `${result.ended}: ${result.output}`,
    ).toEqual({ wasCopying: true, interrupted: true, left: [], beside: ['kb.sqlite'], fatal: false });
  }, 60_000);

  // Guards against (from a review): a SIGTERM to the command alone, as a supervisor sends it, reached
  // no process of the copy, which went on to the end; and a second signal, while the copy's process
  // ended, was taken by the default action, before the partial copy was removed.
  it('stopped by SIGTERM sent to it alone, twice, kills its copy at once and leaves nothing', async () => {
    const databasePath = largeDatabase();
    const started = Date.now();
    // The script under Node itself, with tsx's loader: the process a signal reaches is the one with the handlers.
    const result = await interruptedBackup(
      databasePath,
      [process.execPath, '--import', 'tsx', 'scripts/db-backup.ts'],
      'SIGTERM',
      'process',
      true,
    );
    expect(
      { wasCopying: result.wasCopying, copyRunning: result.copyRunning, ended: result.ended, left: result.left, beside: result.beside },
      `${result.ended} after ${Date.now() - started} ms: ${result.output}`,
    ).toEqual({ wasCopying: true, copyRunning: false, ended: 'exit 143', left: [], beside: ['kb.sqlite'] });
  }, 60_000);

  it('leaves an earlier backup as it was when the new one fails, and says why in one line', async () => {
    const folder = temp.make('rc-ops-backups-');
    const target = join(folder, 'kb-backup.sqlite');
    expect((await runScript('db-backup.ts', [target], seededDatabase())).code).toBe(0);
    const before = readFileSync(target);
    const notDatabase = join(temp.make('rc-ops-notdb-'), 'kb.sqlite');
    writeFileSync(notDatabase, 'not a database '.repeat(300));
    const result = await runScript('db-backup.ts', [target], notDatabase);
    expect(
      {
        code: result.code,
        stack: hasStack(result.output),
        namesFile: result.output.includes(notDatabase),
        sqliteCode: result.output.includes('SQLITE_NOTADB'),
        files: readdirSync(folder),
        unchanged: readFileSync(target).equals(before),
      },
      result.output,
    ).toEqual({ code: 1, stack: false, namesFile: true, sqliteCode: true, files: ['kb-backup.sqlite'], unchanged: true });
  }, 40_000);

  it('refuses a target folder that does not exist, and a file there that is not a database, without a stack trace', async () => {
    const databasePath = seededDatabase();
    const folder = temp.make('rc-ops-backups-');
    const notes = join(folder, 'notes.txt');
    writeFileSync(notes, 'an operator typed the wrong name\n');
    const missingFolder = await runScript('db-backup.ts', [join(folder, 'missing', 'kb.sqlite')], databasePath);
    const overNotes = await runScript('db-backup.ts', [notes], databasePath);
    const throughNotes = await runScript('db-backup.ts', [join(notes, 'kb.sqlite')], databasePath);
    const underNotes = await runScript('db-backup.ts', [join(notes, 'sub', 'kb.sqlite')], databasePath);
    // Guards against: better-sqlite3's TypeError with its stack for the first, the text file
    // silently replaced by a database for the second, and a bare "ENOTDIR … lstat" for the third.
    expect({
      missingFolder: [missingFolder.code, hasStack(missingFolder.output), /does not exist/.test(missingFolder.output)],
      overNotes: [overNotes.code, hasStack(overNotes.output), readFileSync(notes, 'utf8')],
      throughNotes: [throughNotes.code, throughNotes.output.trim()],
      underNotes: [underNotes.code, underNotes.output.trim()],
    }).toEqual({
      missingFolder: [73, false, true],
      overNotes: [73, false, 'an operator typed the wrong name\n'],
      throughNotes: [73, `db:backup: the folder ${notes} is a file, not a folder`],
      underNotes: [73, `db:backup: the folder ${join(notes, 'sub')} runs through ${notes}, which is a file`],
    });
  }, 40_000);

  // Guards against: the copy was renamed onto the link itself, so a `latest.sqlite` link became a
  // file of its own and the file it named kept the old backup.
  it('writes through a symlink target, keeping the link', async () => {
    const databasePath = seededDatabase();
    const folder = temp.make('rc-ops-backups-');
    const file = join(folder, 'kb-2026-12-04.sqlite');
    const link = join(folder, 'latest.sqlite');
    writeFileSync(file, '');
    symlinkSync('kb-2026-12-04.sqlite', link);
    const result = await runScript('db-backup.ts', [link], databasePath);
    expect(
      { code: result.code, link: lstatSync(link).isSymbolicLink(), copy: readFileSync(file).subarray(0, 15).toString() },
      result.output,
    ).toEqual({
      code: 0,
      link: true,
      copy: 'SQLite format 3',
    });
  }, 40_000);

  // Guards against (from an operations review): a device or a pipe has no size, so it passed the
  // "not SQLite" check and was renamed over (`db:backup -- /dev/null` replaced the device by a file).
  it('refuses a target that is a pipe or a device, and leaves it as it is', async () => {
    const databasePath = seededDatabase();
    const fifo = join(temp.make('rc-ops-backups-'), 'pipe');
    execFileSync('mkfifo', [fifo]);
    const result = await runScript('db-backup.ts', [fifo], databasePath);
    expect([result.code, /not a regular file/.test(result.output), lstatSync(fifo).isFIFO()], result.output).toEqual([73, true, true]);
  }, 40_000);

  // Guards against (from an operations review): the copy took the umask's mode (0644 from a shell or
  // cron), so a backup of a private database was readable by every user of the machine.
  it('gives the copy the database’s permission bits, also when it replaces an earlier backup', async () => {
    const databasePath = seededDatabase();
    chmodSync(databasePath, 0o600);
    const target = join(temp.make('rc-ops-backups-'), 'kb-backup.sqlite');
    const first = await runScript('db-backup.ts', [target], databasePath);
    const firstMode = lstatSync(target).mode & 0o777;
    chmodSync(target, 0o644);
    const second = await runScript('db-backup.ts', [target], databasePath);
    expect({ codes: [first.code, second.code], modes: [firstMode, lstatSync(target).mode & 0o777] }, second.output).toEqual({
      codes: [0, 0],
      modes: [0o600, 0o600],
    });
  }, 40_000);

  // Guards against (from a review of the test above's fix): the copy was created with the database's
  // own bits, so a read-only database (0444) gave a read-only partial copy SQLite could not write.
  it.runIf(process.getuid?.() === 0)(
    'backs up a read-only database of another user, as that user',
    async () => {
      const databasePath = seededDatabase();
      const folder = dirname(databasePath);
      const nobody = 65534;
      for (const path of [folder, databasePath]) chownSync(path, nobody, nobody);
      chmodSync(databasePath, 0o444);
      const target = join(folder, 'kb-backup.sqlite');
      const result = await runScript('db-backup.ts', [target], databasePath, {}, nobody);
      expect({ code: result.code, mode: existsSync(target) ? lstatSync(target).mode & 0o777 : 'none' }, result.output).toEqual({
        code: 0,
        mode: 0o444,
      });
    },
    40_000,
  );

  it('refuses a target with a -wal beside it: the copy would be read through another database’s log', async () => {
    const databasePath = seededDatabase();
    const target = join(temp.make('rc-ops-backups-'), 'kb-backup.sqlite');
    expect((await runScript('db-backup.ts', [target], databasePath)).code).toBe(0);
    writeFileSync(`${target}-wal`, '');
    const result = await runScript('db-backup.ts', [target], databasePath);
    expect([result.code, /in use or was not closed cleanly/.test(result.output)], result.output).toEqual([73, true]);
  }, 40_000);
});

describe('usage errors of the commands', () => {
  it('refuses a db:backup given two files instead of backing up to the first and dropping the second', async () => {
    const databasePath = seededDatabase();
    const folder = temp.make('rc-ops-backups-');
    const [first, second] = [join(folder, 'a.sqlite'), join(folder, 'b.sqlite')];
    const result = await runScript('db-backup.ts', [first, second], databasePath);
    // Guards against: exit 0 with a.sqlite written and b.sqlite silently ignored.
    expect([result.code, hasStack(result.output), /usage/.test(result.output), readdirSync(folder)]).toEqual([64, false, true, []]);
  }, 40_000);

  it.each(['db-migrate.ts', 'db-seed.ts'])(
    'refuses an argument to %s, which takes its database from DATABASE_PATH alone',
    async (file) => {
      const folder = temp.make('rc-ops-noargs-');
      const databasePath = join(folder, 'kb.sqlite');
      const result = await runScript(file, [join(folder, 'other.sqlite')], databasePath);
      // Guards against: exit 0 with DATABASE_PATH created and the file named on the command line ignored.
      expect([result.code, hasStack(result.output), /usage/.test(result.output), readdirSync(folder)]).toEqual([64, false, true, []]);
    },
    40_000,
  );

  // Guards against: a major version that is not a number reaching `npm view` and the registry, or none
  // at all running the suite under the machine's own Node as if it were another.
  it.each([[], ['v24'], ['24.1']])('refuses test:node given %j, before it asks the registry for anything', (...args) => {
    const cache = temp.make('rc-ops-nodes-');
    const result = spawnSync('bash', [join(projectRoot, 'scripts', 'test-on-node.sh'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, NODE_VERSIONS_DIR: cache },
    });
    expect([result.status, /^usage: npm run test:node -- <major/.test(result.stderr), result.stdout, readdirSync(cache)]).toEqual([
      64,
      true,
      '',
      [],
    ]);
  });

  it('says in one line that sources:runs has no source folder, and writes nothing', async () => {
    const missing = join(temp.make('rc-ops-sources-'), 'sources');
    const fixture = join(projectRoot, 'test', 'fixtures', 'source-runs.json');
    const before = readFileSync(fixture, 'utf8');
    const result = await runScript('source-runs.ts', [missing], seededDatabase());
    // Guards against: an uncaught ENOENT from scandir, with its stack, exit 1.
    expect([result.code, hasStack(result.output), result.output.includes(missing)]).toEqual([66, false, true]);
    expect(readFileSync(fixture, 'utf8')).toBe(before);
  }, 40_000);
});

/**
 * Seeds a new database with the seed files as `edit` leaves a copy of them, then runs db:seed with
 * the shipped ones: its exit code and lines, the database path and the edited content.
 */
async function reseedAfter(edit: (folder: string) => void) {
  const databasePath = join(temp.make('rc-ops-reseed-'), 'kb.sqlite');
  const folder = temp.seedCopy();
  edit(folder);
  const edited = loadContent(folder);
  const { sqlite, db } = openDatabase(databasePath);
  try {
    seedDatabase(db, edited);
  } finally {
    sqlite.close();
  }
  const result = await runScript('db-seed.ts', [], databasePath);
  expect(result.code, result.output).toBe(0);
  return { lines: result.output.trim().split('\n'), databasePath, edited };
}

describe('db:seed over content edited under the same release id', () => {
  // Guards against: the command said "seeded" and nothing else, so a maintainer who edited seed/
  // and forgot to bump the release left one release id naming two contents.
  it('seeds it and says on stderr which content the release id named before', async () => {
    const { lines, databasePath, edited } = await reseedAfter((folder) =>
      editJson(folder, 'roles.json', (data: { summary: string }[]) =>
        data.map((r, i) => (i === 0 ? { ...r, summary: `${r.summary} Edited.` } : r)),
      ),
    );
    const content = loadContent();
    expect(lines).toEqual([
      `seeded release ${content.release} (${content.contentHash}) in ${databasePath}`,
      expect.stringMatching(
        new RegExp(`^db:seed: release ${content.release} named other content before \\(${edited.contentHash}\\): bump`),
      ),
    ]);
  }, 40_000);
});

describe('db:seed over questions edited under the same instrument version', () => {
  it('seeds them and says on stderr which questions the version named before', async () => {
    const { lines, databasePath, edited } = await reseedAfter((folder) => {
      editJson(folder, 'release.json', () => ({ release: '2099.6.0' }));
      editJson(folder, 'questions.json', (data: { instrumentVersion: string; questions: { prompt: string }[] }) => ({
        ...data,
        questions: data.questions.map((q, i) => (i === 0 ? { ...q, prompt: `${q.prompt.slice(0, -1)}, most weeks.` } : q)),
      }));
    });
    const content = loadContent();
    expect(lines).toEqual([
      `seeded release ${content.release} (${content.contentHash}) in ${databasePath}`,
      `db:seed: instrument ${content.instrumentVersion} named other questions before (${edited.instrumentHash}): bump \`instrumentVersion\` in seed/questions.json so that results tell the two apart`,
    ]);
  }, 40_000);
});

describe('db:migrate with a bad configuration', () => {
  // Guards against: each bad variable on a line of its own, where the db:* commands report in one.
  it('prints one line naming every bad variable, and exits 78', async () => {
    const path = join(temp.make('rc-ops-config-'), 'kb.sqlite');
    const result = await runScript('db-migrate.ts', [], path, { PORT: 'x', LOG_LEVEL: 'loud' });
    expect(result.code).toBe(78);
    expect(result.output.trim().split('\n')).toEqual([expect.stringMatching(/^db:migrate: Invalid configuration: \S.*; \S/)]);
    expect(result.output).toMatch(/PORT: .*LOG_LEVEL: |LOG_LEVEL: .*PORT: /);
  }, 40_000);
});

describe('db:migrate when it cannot open the database', () => {
  it('prints one line naming the file and the cause, and exits 1', async () => {
    const path = join(temp.make('rc-ops-notdb-'), 'kb.sqlite');
    writeFileSync(path, 'not a database '.repeat(300));
    const result = await runScript('db-migrate.ts', [], path);
    // Guards against: the error's stack through tsx and the script, with exit code 1 only by accident.
    expect([result.code, hasStack(result.output), result.output.trim()]).toEqual([
      1,
      false,
      `db:migrate: cannot open or migrate the database ${path}: file is not a database (SQLITE_NOTADB)`,
    ]);
  }, 40_000);
});

describe('a database path that names a folder', () => {
  // Guards against (from an operations review): SQLite's "unable to open database file", which does
  // not say that the path is a folder.
  it('is refused, saying so', () => {
    const folder = join(temp.make('rc-ops-folder-'), 'kb.sqlite');
    mkdirSync(folder);
    expect(() => openDatabase(folder)).toThrow(`cannot open or migrate the database ${folder}: it is a folder, not a database file`);
  });
});

describe('a database path that is a symbolic link', () => {
  it('opens the file it names, made where the folder exists', () => {
    const folder = temp.make('rc-ops-link-');
    const link = join(folder, 'kb.sqlite');
    symlinkSync(join(folder, 'real.sqlite'), link);
    openDatabase(link).sqlite.close();
    expect(statSync(join(folder, 'real.sqlite')).isFile()).toBe(true);
  });

  // Guards against: SQLite's bare "unable to open database file" for a link whose target cannot be
  // made, which does not say that the path is a link, nor where it leads.
  it('is refused, naming where it leads, when the folder it leads to does not exist or the links loop', () => {
    const folder = temp.make('rc-ops-link-');
    const dangling = join(folder, 'kb.sqlite');
    const target = join(folder, 'gone', 'kb.sqlite');
    symlinkSync(target, dangling);
    expect(() => openDatabase(dangling)).toThrow(
      `cannot open or migrate the database ${dangling}: it is a symbolic link to ${target}, whose folder ${join(folder, 'gone')} does not exist`,
    );
    const loop = join(folder, 'loop.sqlite');
    symlinkSync('loop.sqlite', loop);
    expect(() => openDatabase(loop)).toThrow(
      `cannot open or migrate the database ${loop}: it is a symbolic link to ${loop}, and the links from there go round in a loop (ELOOP)`,
    );
  });

  // Guards against (from a review): only the first link of a chain was read, so a chain to a missing
  // folder got SQLite's bare message, and a folder that is a file was called missing.
  it('follows a chain of links to the last, and names a file its folder path runs through', () => {
    const folder = temp.make('rc-ops-link-');
    const first = join(folder, 'a.sqlite');
    const second = join(folder, 'b.sqlite');
    const last = join(folder, 'gone', 'x.sqlite');
    symlinkSync('b.sqlite', first);
    symlinkSync(last, second);
    expect(() => openDatabase(first)).toThrow(
      `cannot open or migrate the database ${first}: it is a symbolic link to ${second}, which leads on to ${last}, whose folder ${join(folder, 'gone')} does not exist`,
    );
    const file = join(folder, 'notes.txt');
    writeFileSync(file, '');
    const throughFile = join(folder, 'c.sqlite');
    symlinkSync(join(file, 'x.sqlite'), throughFile);
    expect(() => openDatabase(throughFile)).toThrow(
      `cannot open or migrate the database ${throughFile}: it is a symbolic link to ${join(file, 'x.sqlite')}, whose folder path runs through ${file}, which is a file, not a folder`,
    );
  });

  // Guards against (from a review): a relative link's target was taken from the path as written, not
  // from the folder the link is really in, so a link reached through a linked folder was refused.
  it('takes a relative target from the folder the link really is in', () => {
    const root = temp.make('rc-ops-link-');
    mkdirSync(join(root, 'b', 'real'), { recursive: true });
    mkdirSync(join(root, 'b', 'y'));
    mkdirSync(join(root, 'a'));
    symlinkSync(join(root, 'b', 'real'), join(root, 'a', 'linked'));
    symlinkSync(join('..', 'y', 'z.sqlite'), join(root, 'b', 'real', 'x.sqlite'));
    openDatabase(join(root, 'a', 'linked', 'x.sqlite')).sqlite.close();
    expect(statSync(join(root, 'b', 'y', 'z.sqlite')).isFile()).toBe(true);
  });
});

describe('the folders above a database path', () => {
  it('are made, each level that is missing', () => {
    const path = join(temp.make('rc-ops-folders-'), 'a', 'b', 'kb.sqlite');
    openDatabase(path).sqlite.close();
    expect(statSync(dirname(path)).isDirectory()).toBe(true);
  });

  // Guards against (from an operations review): Node's bare "EEXIST: file already exists, mkdir" or
  // "ENOTDIR", which do not say that a part of the path is a file.
  it('name the file a path runs through, next to it or further up', () => {
    const file = join(temp.make('rc-ops-through-'), 'kb.sqlite');
    writeFileSync(file, '');
    for (const path of [join(file, 'kb.sqlite'), join(file, 'x', 'y', 'kb.sqlite')]) {
      expect(() => openDatabase(path)).toThrow(
        `cannot open or migrate the database ${path}: its folder path runs through ${file}, which is a file, not a folder`,
      );
    }
  });

  // Guards against (from a review): a folder that is a link leading nowhere was told only EEXIST, and a
  // loop of links in the folder path got the raw ELOOP of a stat.
  it('name a folder that is a link leading nowhere, and links that loop', () => {
    const root = temp.make('rc-ops-through-');
    symlinkSync(join(root, 'nowhere'), join(root, 'dangling'));
    const path = join(root, 'dangling', 'kb.sqlite');
    expect(() => openDatabase(path)).toThrow(
      `cannot open or migrate the database ${path}: its folder ${join(root, 'dangling')} is a symbolic link to ${join(root, 'nowhere')}, which is no folder`,
    );
    symlinkSync('loop', join(root, 'loop'));
    const looped = join(root, 'loop', 'x', 'kb.sqlite');
    expect(() => openDatabase(looped)).toThrow(
      `cannot open or migrate the database ${looped}: its folder path ${join(root, 'loop', 'x')} runs through symbolic links that go round in a loop (ELOOP)`,
    );
  });

  // Guards against: Node's recursive mkdir, which spins for ever on /proc's ENOENT, so that the
  // server never listened and never said why.
  it.skipIf(!existsSync('/proc/self'))('are refused with the reason where the file system takes no new folder', () => {
    const path = '/proc/rc-no-such-folder/kb.sqlite';
    expect(() => openDatabase(path)).toThrow(
      `cannot open or migrate the database ${path}: cannot make its folder /proc/rc-no-such-folder: the file system there does not take new folders (ENOENT)`,
    );
  });
});

describe('what a database that fails to open is told about its storage', () => {
  const probes = (files: Record<string, string | null>, freeBytes: number): StorageProbes => ({
    exists: (path) => path in files,
    writable: (path) => {
      const code = files[path];
      if (code) throw Object.assign(new Error(code), { code });
    },
    freeBytes: () => freeBytes,
  });

  it('names the disk when it is (nearly) full, and every path SQLite must write that it may not', () => {
    const files = { '/data': null, '/data/kb.sqlite': null, '/data/kb.sqlite-wal': 'EACCES', '/data/kb.sqlite-shm': 'EPERM' };
    expect(storageDiagnosis('/data/kb.sqlite', probes(files, 0))).toBe(
      'the disk holding /data has 0 bytes free; this process may not write /data/kb.sqlite-wal (EACCES), /data/kb.sqlite-shm (EPERM)',
    );
    expect(storageDiagnosis('/data/kb.sqlite', probes({ '/data': 'EROFS' }, LOW_DISK_BYTES - 1024))).toBe(
      'the disk holding /data has 1023 KiB free; this process may not write its folder /data (EROFS)',
    );
  });

  it('says nothing when nothing stands out, or when the folder does not exist (SQLite says so itself)', () => {
    expect(storageDiagnosis('/data/kb.sqlite', probes({ '/data': null, '/data/kb.sqlite': null }, LOW_DISK_BYTES))).toBeUndefined();
    expect(storageDiagnosis('/data/kb.sqlite', probes({}, 0))).toBeUndefined();
  });

  // Guards against: "attempt to write a readonly database", naming only the main file, when the
  // file SQLite could not write was the -shm a process of another user had left.
  it('names the -shm that this process may not write when the database fails to open', (context) => {
    const databasePath = seededDatabase();
    const shm = `${databasePath}-shm`;
    writeFileSync(shm, '');
    const undo = makeUnwritable(shm);
    if (undo === undefined) return context.skip('this process can write a file whatever its mode, and chattr is not available');
    try {
      expect(() => openDatabase(databasePath)).toThrow(`this process may not write ${shm}`);
    } finally {
      undo();
    }
  });
});

/** Makes `path` unwritable for this process (read-only mode, or immutable for root), or undefined if it cannot. */
function makeUnwritable(path: string): (() => void) | undefined {
  const writable = () => storageDiagnosis(path.replace(/-shm$/, '')) === undefined;
  chmodSync(path, 0o444);
  if (!writable()) return () => chmodSync(path, 0o644);
  chmodSync(path, 0o644);
  try {
    execFileSync('chattr', ['+i', path], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return () => execFileSync('chattr', ['-i', path], { stdio: 'ignore' });
}
