import Database from 'better-sqlite3';
import { countStoredAssessments } from './repository.js';
import { storageDiagnosis } from './storage-diagnosis.js';

/**
 * Copies the database at `databasePath` to `copyPath` with SQLite's online backup, safe while a
 * server writes to it, then runs SQLite's integrity check on the copy. Throws, naming the cause and
 * what stands out about the storage, when the copy cannot be made or fails the check.
 */
export async function backupDatabase(databasePath: string, copyPath: string): Promise<{ totalPages: number; assessments: number }> {
  const source = new Database(databasePath, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    // One step under one read snapshot: a stepwise backup restarts whenever the server commits, so
    // under steady writes it would never finish. Readers and the writer carry on meanwhile (WAL).
    const { totalPages } = await source.backup(copyPath, { progress: () => 0x7fffffff }).catch((error: unknown) => {
      const { message, code } = error as Error & { code?: string };
      const diagnosis = [storageDiagnosis(databasePath), storageDiagnosis(copyPath)].filter(Boolean).join('; ');
      throw new Error(`cannot copy ${databasePath}: ${message}${code ? ` (${code})` : ''}${diagnosis ? `; ${diagnosis}` : ''}`, {
        cause: error,
      });
    });
    // Opened for writing so that closing it removes the -wal and -shm its reads create.
    const check = new Database(copyPath, { fileMustExist: true });
    try {
      const integrity = check.pragma('integrity_check', { simple: true });
      if (integrity !== 'ok') throw new Error(`the copy failed its integrity check: ${integrity}`);
      return { totalPages, assessments: countStoredAssessments(check) };
    } finally {
      check.close();
    }
  } finally {
    source.close();
  }
}
