// How the project's commands (`npm run db:*`, `npm run sources:runs`) end when they fail: one line
// on stderr naming the command and the cause, with SQLite's result code when there is one, instead
// of a stack trace; and an exit code from sysexits(3) that a script or supervisor can tell apart.
import { ConfigError, EX_CONFIG } from '../src/config.js';
import { sqliteCodeOf } from '../src/db/client.js';

export const EX_USAGE = 64;
export const EX_NOINPUT = 66;
export const EX_CANTCREAT = 73;

/** A failure the command foresaw, with the exit code that says which kind it is. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * Refuses arguments given to a command that takes none (`npm run db:seed -- other.sqlite`): the
 * database is DATABASE_PATH, and one named on the command line would otherwise be ignored in silence.
 */
export function takeNoArguments(name: string): void {
  const extra = process.argv.slice(2);
  if (extra.length > 0)
    throw new CommandError(`usage: npm run ${name} (no arguments: the database is DATABASE_PATH), not ${extra.join(' ')}`, EX_USAGE);
}

export async function runCommand(name: string, command: () => unknown): Promise<void> {
  try {
    await command();
  } catch (error) {
    console.error(`${name}: ${describe(error)}`);
    process.exitCode = error instanceof CommandError ? error.exitCode : error instanceof ConfigError ? EX_CONFIG : 1;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // The configuration's message gives a line to each bad variable: here they share one.
  if (error instanceof ConfigError) return error.message.replace(/:\n\s+/, ': ').replace(/\n\s+/g, '; ');
  const code = sqliteCodeOf(error);
  // SQLITE_ERROR, SQLite's generic code, names nothing the message does not.
  return code !== undefined && code !== 'SQLITE_ERROR' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}
