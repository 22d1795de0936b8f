// `npm run db:backup` while the real server process (built from src/) keeps taking writes: the copy is
// sound, holds everything acknowledged before the backup started, and a server runs on it.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/paths.js';
import {
  type Attempt,
  assessmentRows,
  integrityCheck,
  questions,
  readBack,
  serverBuiltForFile,
  sleep,
  startLoad,
  startServer,
  stopServer,
  submission,
  tally,
} from './support/process.js';

const CONNECTIONS = 8;
const LOAD_BEFORE_BACKUP_MS = 1_000;
/** The same copy takes well under a second on an idle server; this leaves room for a slow machine. */
const BACKUP_TIMEOUT_MS = 15_000;
const MAX_REQUESTS = 500_000;
/**
 * Stored assessments the database holds before the test starts (about 20 KB each), so that the copy
 * is of a realistic size rather than a few megabytes that fit between two writes.
 */
const BALLAST = 4_000;

const { temp, script } = serverBuiltForFile();
const backups = new Set<ChildProcess>();

/** npm runs tsx, which runs node: the whole process group goes. */
const killGroup = (child: ChildProcess) => {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
};

afterAll(() => {
  for (const child of backups) killGroup(child);
});

/** `npm run db:backup -- <target>` with DATABASE_PATH set: its exit code and output, or timedOut (then killed). */
function runBackup(databasePath: string, target: string, timeoutMs: number) {
  const child = spawn('npm', ['run', '--silent', 'db:backup', '--', target], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_PATH: databasePath, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  backups.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  return new Promise<{ code: number | null; output: string; timedOut: boolean }>((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      backups.delete(child);
      resolve({ code, output, timedOut });
    });
  });
}

/**
 * Adds `count` copies of one stored assessment's row, on row numbers reserved as the server reserves
 * them and with respondent 'ballast', to a closed database (their documents still name the original:
 * they are counted, never read).
 */
function addBallast(databasePath: string, count: number): void {
  const db = new Database(databasePath, { fileMustExist: true });
  try {
    const source = db.prepare('select row_id from assessment_documents limit 1').pluck().get() as number;
    const copy = db.prepare(
      `insert into assessment_documents (row_id, tag, created_at, company_size, respondent, document, instrument_version, scoring_version, kb_release, idempotency_key)
       select ?, tag, created_at, company_size, 'ballast', document, instrument_version, scoring_version, kb_release, null
       from assessment_documents where row_id = ?`,
    );
    db.transaction(() => {
      const end = db
        .prepare('update assessment_id_keys set next_row = next_row + ? where id = 1 returning next_row')
        .pluck()
        .get(count) as number;
      for (let row = end - count; row < end; row++) copy.run(row, source);
    })();
  } finally {
    db.close();
  }
}

const ackedBetween = (attempts: readonly Attempt[], from: number, to: number) =>
  attempts.filter((a) => a.outcome.kind === 'ack' && a.endedAt >= from && a.endedAt < to);

describe('online backup under write load', () => {
  it('copies every assessment acknowledged before it started into a sound file that a server can run on', async () => {
    const dir = temp.make('rc-api-backup-');
    const databasePath = join(dir, 'kb.sqlite');
    const target = join(dir, 'backup.sqlite');
    // A database that already holds BALLAST + 1 assessments.
    const first = await startServer(script(), databasePath);
    const qs = await questions(first.url);
    const seeded = await fetch(`${first.url}/v1/assessments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: submission(qs, 'ballast', 0),
    });
    expect(seeded.status).toBe(201);
    expect((await stopServer(first)).code).toBe(0);
    addBallast(databasePath, BALLAST);
    expect(assessmentRows(databasePath)).toBe(BALLAST + 1);

    const server = await startServer(script(), databasePath);
    // Runs until stop(): the time bound is only a safety net.
    const load = startLoad({
      baseUrl: server.url,
      questions: qs,
      connections: CONNECTIONS,
      maxRequests: MAX_REQUESTS,
      maxMs: 60_000,
      stopAfterFailure: true,
    });
    let backupStartedAt = 0;
    let backupEndedAt = 0;
    let before: Attempt[] = [];
    let backup: { code: number | null; output: string; timedOut: boolean };
    try {
      await sleep(LOAD_BEFORE_BACKUP_MS);
      // Acknowledged means the response arrived: these were committed before the backup process even started.
      backupStartedAt = performance.now();
      before = load.acked().slice();
      backup = await runBackup(databasePath, target, BACKUP_TIMEOUT_MS);
      backupEndedAt = performance.now();
      await sleep(200);
    } finally {
      await load.stop();
    }
    const stopped = await stopServer(server);

    const during = ackedBetween(load.attempts, backupStartedAt, backupEndedAt);
    const figures = `acknowledged before the backup: ${before.length}, while it ran: ${during.length}, in ${Math.round(backupEndedAt - backupStartedAt)} ms`;
    expect(backup.timedOut, `npm run db:backup did not finish within ${BACKUP_TIMEOUT_MS} ms under write load (${figures})`).toBe(false);
    expect(backup.code, backup.output).toBe(0);
    expect(backup.output).toMatch(/backed up .* to .*: \d+ pages, \d+ assessments/);
    expect(existsSync(target)).toBe(true);
    // The load ran before, during and after the backup, and the server took all of it without a failure.
    expect(before.length).toBeGreaterThan(100);
    expect(during.length).toBeGreaterThan(0);
    expect(ackedBetween(load.attempts, backupEndedAt, Number.POSITIVE_INFINITY).length).toBeGreaterThan(0);
    expect(load.attempts.length).toBeLessThan(MAX_REQUESTS);
    expect(load.attempts.filter((a) => a.outcome.kind !== 'ack').map((a) => a.outcome)).toEqual([]);
    expect(stopped.code).toBe(0);

    const integrity = integrityCheck(target);
    expect(integrity).toBe('ok');
    const rowsInBackup = assessmentRows(target);

    // A server started on the copy serves every assessment acknowledged before the backup started.
    const restored = await startServer(script(), target);
    const read = await readBack(restored.url, before);
    const later = load.attempts.filter((a) => a.outcome.kind === 'ack' && a.endedAt >= backupStartedAt);
    const laterRead = await readBack(restored.url, later);
    const restoredStop = await stopServer(restored);
    expect(read.missing).toEqual([]);
    expect(read.wrong).toEqual([]);
    expect(read.found).toBe(before.length);
    expect(laterRead.wrong).toEqual([]);
    // Only assessments from after the backup began may be absent: the copy is one snapshot, not a mirror.
    expect(laterRead.missing.every((m) => m.status === 404)).toBe(true);
    // Every row in the copy is one of the acknowledged assessments: nothing else, nothing twice.
    expect(rowsInBackup).toBe(BALLAST + 1 + read.found + laterRead.found);
    expect(restoredStop.code).toBe(0);

    console.log(
      `[reliability] backup under load: ${JSON.stringify({
        acknowledgedBeforeBackup: before.length,
        foundInBackup: read.found,
        acknowledgedDuringBackup: during.length,
        acknowledgedAfterBackupStarted: later.length,
        ofThoseInBackup: laterRead.found,
        outcomes: tally(load.attempts),
        backupExitCode: backup.code,
        backupMs: Math.round(backupEndedAt - backupStartedAt),
        backupOutput: backup.output.trim(),
        integrity,
      })}`,
    );
  }, 40_000);
});
