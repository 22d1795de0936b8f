import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { ASSESSMENT_TABLES } from './repository.js';
import { storageDiagnosis } from './storage-diagnosis.js';

// Plain CommonJS, so that it runs from the sources as from the build. The copy and its check run
// in a process of their own: each is one long synchronous call into SQLite, which would hold back
// the command's signal handlers (tsx, behind `npm run`, kills a process that has not taken a signal
// within 60 ms, before they could remove the partial copy), and which a worker thread cannot leave
// without V8 ending the whole process. The process is killed outright when the backup is given up.
const BACKUP_PROCESS = `
const job = JSON.parse(process.env.BACKUP_JOB);
const Database = require(job.driver);
// The answer goes on its own pipe (fd 3): whatever else writes to stdout cannot garble it.
const answer = (outcome) => require('node:fs').writeSync(3, JSON.stringify(outcome));
const failed = (stage, error) => answer({ failed: { stage, message: error.message, code: error.code } });
(async () => {
  let source;
  let totalPages;
  try {
    source = new Database(job.databasePath, { fileMustExist: true });
    source.pragma('busy_timeout = 5000');
    // One step under one read snapshot: a stepwise backup restarts whenever the server commits, so
    // under steady writes it would never finish. Readers and the writer carry on meanwhile (WAL).
    ({ totalPages } = await source.backup(job.copyPath, { progress: () => 0x7fffffff }));
  } catch (error) {
    return failed('copy', error);
  } finally {
    source?.close();
  }
  let check;
  try {
    // Opened for writing so that closing it removes the -wal and -shm its reads create.
    check = new Database(job.copyPath, { fileMustExist: true });
    const integrity = check.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') return failed('check', new Error('the copy failed its integrity check: ' + integrity));
    const present = new Set(check.prepare("select name from sqlite_master where type = 'table'").pluck().all());
    let assessments = 0;
    for (const table of job.tables) if (present.has(table)) assessments += check.prepare('select count(*) from ' + table).pluck().get();
    answer({ done: { totalPages, assessments } });
  } catch (error) {
    failed('check', error);
  } finally {
    check?.close();
  }
})();
`;

type Outcome =
  | { done: { totalPages: number; assessments: number } }
  | { failed: { stage: 'copy' | 'check'; message: string; code?: string } };

/**
 * Copies the database at `databasePath` to `copyPath` with SQLite's online backup, safe while a
 * server writes to it, then runs SQLite's integrity check on the copy, in a process of its own,
 * which `signal` kills. Throws, naming the cause and what stands out about the storage, when the
 * copy cannot be made or fails the check.
 */
export async function backupDatabase(
  databasePath: string,
  copyPath: string,
  signal?: AbortSignal,
): Promise<{ totalPages: number; assessments: number }> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const job = JSON.stringify({ driver, databasePath, copyPath, tables: ASSESSMENT_TABLES });
  const child = spawn(process.execPath, ['-e', BACKUP_PROCESS], {
    env: { ...process.env, BACKUP_JOB: job },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    ...(signal === undefined ? {} : { signal, killSignal: 'SIGKILL' as const }),
  });
  let answer = '';
  let stderr = '';
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk) => {
    answer += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (error) => (error.name === 'AbortError' ? undefined : reject(error)));
    child.once('close', (code, killedBy) => resolve({ code, signal: killedBy }));
  });
  if (signal?.aborted) {
    closeOnce(databasePath);
    throw new Error('the backup was interrupted');
  }
  let outcome: Outcome;
  try {
    outcome = JSON.parse(answer) as Outcome;
  } catch {
    const how = ended.signal === null ? `exit code ${ended.code}` : ended.signal;
    const lines = stderr.split('\n').filter((line) => line.trim() !== '');
    const cause = lines.find((line) => /^\w*Error\b/.test(line)) ?? lines.at(-1);
    throw new Error(`the backup's process ended (${how}) without an answer${cause === undefined ? '' : `: ${cause.trim()}`}`);
  }
  if ('done' in outcome) return outcome.done;
  const { stage, message, code } = outcome.failed;
  if (stage === 'check') throw Object.assign(new Error(message), code === undefined ? {} : { code });
  const diagnosis = [storageDiagnosis(databasePath), storageDiagnosis(copyPath)].filter(Boolean).join('; ');
  throw Object.assign(new Error(`cannot copy ${databasePath}: ${message}${code ? ` (${code})` : ''}${diagnosis ? `; ${diagnosis}` : ''}`), {
    code,
  });
}

/**
 * Opens and closes the database once: the backup's process, killed, never closed its connection, so
 * the `-wal` and `-shm` it made stay beside a database no server has open; closed as the last
 * connection, this one removes them. With a server running, it changes nothing.
 */
function closeOnce(databasePath: string): void {
  try {
    const db = new Database(databasePath, { fileMustExist: true });
    // A connection that reads nothing never opens the log, and so never removes it.
    db.prepare('select count(*) from sqlite_master').get();
    db.close();
  } catch {
    // The files stay, as they would after any reader that was killed.
  }
}
