// npm run db:backup -- <file>: an online backup of DATABASE_PATH, safe while the server is writing.
// SQLite's backup API copies a consistent snapshot; restore by pointing DATABASE_PATH at the copy.
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config.js';
import { countStoredAssessments } from '../src/db/repository.js';

const target = process.argv[2];
if (!target) {
  console.error('usage: npm run db:backup -- <file>');
  process.exit(64);
}
const { databasePath } = loadConfig();
if (!existsSync(databasePath)) {
  console.error(`no database at ${databasePath}`);
  process.exit(66);
}
// The database under another name (`./`, a symlink, a hard link, a second mount) would be "backed
// up" onto itself, and no copy made: the same device and inode mean the same file.
const sameFile = (x: ReturnType<typeof statSync>, y: ReturnType<typeof statSync>) => x?.dev === y?.dev && x?.ino === y?.ino;
if (existsSync(target) && sameFile(statSync(target), statSync(databasePath))) {
  console.error(`${target} is the database itself: name another file`);
  process.exit(64);
}
const source = new Database(databasePath, { fileMustExist: true });
source.pragma('busy_timeout = 5000');
try {
  const started = Date.now();
  // One step under one read snapshot: a stepwise backup restarts whenever the server commits, so
  // under steady writes it would never finish. Readers and the writer carry on meanwhile (WAL).
  const { totalPages } = await source.backup(target, { progress: () => 0x7fffffff });
  const check = new Database(target, { readonly: true });
  const integrity = check.pragma('integrity_check', { simple: true });
  const assessments = countStoredAssessments(check);
  check.close();
  if (integrity !== 'ok') throw new Error(`backup failed its integrity check: ${integrity}`);
  console.log(`backed up ${databasePath} to ${target}: ${totalPages} pages, ${assessments} assessments, ${Date.now() - started} ms`);
} finally {
  source.close();
}
