/**
 * SQLite's result codes for a database that cannot be written or read for a reason of its storage or
 * of another process, not of the request: its disk is full, its file failed to read or write, it
 * turned read-only, another connection held its write lock past the busy timeout, or its file is
 * damaged (DAMAGE_CODES).
 */
const STORAGE_CODES = /^SQLITE_(?:FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|CORRUPT|NOTADB)(?:_|$)/;

/** The codes of a file SQLite found damaged: unlike the others, nothing but a restore mends it. */
const DAMAGE_CODES = /^SQLITE_(?:CORRUPT|NOTADB)(?:_|$)/;

/** Whether SQLite found the database file damaged (see DAMAGE_CODES). */
export const isDamageCode = (code: string | undefined): boolean => code !== undefined && DAMAGE_CODES.test(code);

/** The SQLite code of an error that is a storage fault, or undefined for any other error. */
export function storageFaultCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.name !== 'SqliteError') return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && STORAGE_CODES.test(code) ? code : undefined;
}

/** Whether a write failed because another connection held the write lock: nothing was written. */
export const lockedElsewhere = (error: unknown) => storageFaultCode(error)?.startsWith('SQLITE_BUSY') === true;

/** How long a write that failed for its storage keeps readiness down, unless a write succeeds first. */
export const STORAGE_FAULT_MS = 10_000;
