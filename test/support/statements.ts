import Database from 'better-sqlite3';

type Method = (...args: unknown[]) => unknown;

/**
 * Counts every statement better-sqlite3 executes in this process, whoever prepared it (the
 * repository, drizzle, or a raw handle): the methods that run a prepared statement, and `exec`.
 * `pragma()` prepares and runs a statement, so it is counted too. Call `restore()` when done.
 */
export function countStatements(): { readonly count: number; restore: () => void } {
  const probe = new Database(':memory:');
  const statement = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, Method>;
  const database = Object.getPrototypeOf(probe) as Record<string, Method>;
  probe.close();
  let count = 0;
  const undo: (() => void)[] = [];
  const wrap = (target: Record<string, Method>, name: string) => {
    const original = target[name] as Method;
    target[name] = function (this: unknown, ...args: unknown[]) {
      count++;
      return original.apply(this, args);
    };
    undo.push(() => {
      target[name] = original;
    });
  };
  for (const name of ['run', 'get', 'all', 'iterate']) wrap(statement, name);
  wrap(database, 'exec');
  return {
    get count() {
      return count;
    },
    restore: () => {
      for (const step of undo.reverse()) step();
    },
  };
}
