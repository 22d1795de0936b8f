// npm run db:backup -- <file>: an online backup of DATABASE_PATH, safe while the server is writing.
// SQLite's backup API copies a consistent snapshot; restore by pointing DATABASE_PATH at the copy.
// The copy is written beside the target under a temporary name, checked, and only then renamed onto
// it: a backup that fails (a full disk, a failed check) leaves an earlier backup of that name whole.
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
} from 'node:fs';
import { constants } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { loadConfig } from '../src/config.js';
import { backupDatabase } from '../src/db/backup.js';
import { fileOnPath, kindOfPath } from '../src/db/client.js';
import { CommandError, EX_CANTCREAT, EX_NOINPUT, EX_USAGE, runCommand } from './cli.js';

/** The files SQLite keeps beside a database while it is open, or after it was not closed cleanly. */
const SIDE_FILES = ['-wal', '-shm', '-journal'];

/** How long a partial copy of a process that is gone must have been left untouched before a later backup removes it. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

await runCommand('db:backup', async () => {
  const [target, ...extra] = process.argv.slice(2);
  if (!target || extra.length > 0) throw new CommandError('usage: npm run db:backup -- <file> (one file)', EX_USAGE);
  const { databasePath } = loadConfig();
  const source = statSync(databasePath, { throwIfNoEntry: false });
  if (!source?.isFile()) throw new CommandError(`no database at ${resolve(databasePath)} (DATABASE_PATH)`, EX_NOINPUT);
  const destination = destinationOf(target);
  const folder = dirname(resolve(destination));
  if (kindOfPath(folder) !== 'folder') {
    const file = fileOnPath(folder);
    const why =
      file === undefined ? 'does not exist' : file === folder ? 'is a file, not a folder' : `runs through ${file}, which is a file`;
    throw new CommandError(`the folder ${folder} ${why}`, EX_CANTCREAT);
  }
  refuseTarget(destination, source);

  removeAbandonedPartials(folder, basename(destination));
  const partial = join(folder, `.${basename(destination)}.partial-${process.pid}`);
  const removePartial = () => {
    for (const path of [partial, ...SIDE_FILES.map((suffix) => partial + suffix)]) rmSync(path, { force: true });
  };
  // Interrupted (Ctrl-C, a supervisor's stop, a closed terminal), it leaves no partial copy behind
  // either: the copy's process is killed, and once it has ended its files are removed.
  const interrupt = new AbortController();
  let copying: Promise<unknown> = Promise.resolve();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Kept on after the first, so that a second signal while the copy's process ends is taken here,
    // not by the default action, which would leave the partial copy.
    process.on(signal, () => {
      if (interrupt.signal.aborted) return;
      interrupt.abort();
      void copying
        .catch(() => undefined)
        .then(() => {
          removePartial();
          process.exit(128 + constants.signals[signal]);
        });
    });
  }
  const started = Date.now();
  try {
    // The copy is created with the database's permission bits (less what the umask takes, and with
    // the owner's read and write, which SQLite needs to write it), so that a backup of a private
    // database is never readable by others, even while it is being written; then given them exactly.
    const mode = source.mode & 0o777;
    try {
      closeSync(openSync(partial, 'wx', mode | 0o600));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'refused';
      throw new CommandError(`cannot create a file in ${folder} (${code}): name a file in a folder this process may write`, EX_CANTCREAT);
    }
    const backup = backupDatabase(databasePath, partial, interrupt.signal);
    copying = backup;
    const { totalPages, assessments } = await backup;
    chmodSync(partial, mode);
    renameSync(partial, destination);
    syncFolder(folder);
    console.log(
      `backed up ${resolve(databasePath)} to ${resolve(destination)}: ${totalPages} pages, ${assessments} assessments, ${Date.now() - started} ms`,
    );
  } finally {
    removePartial();
  }
});

/**
 * Removes the partial copies (and their side files) that earlier backups to this name left when they
 * were killed outright (SIGKILL, the machine stopped), which nothing else would: those of a process
 * that no longer exists and untouched for an hour, so that a backup still running, even one in a
 * process this one cannot see, keeps its copy.
 */
function removeAbandonedPartials(folder: string, name: string) {
  const prefix = `.${name}.partial-`;
  for (const entry of readdirSync(folder)) {
    const pid = /^(\d+)(?:-wal|-shm|-journal)?$/.exec(entry.startsWith(prefix) ? entry.slice(prefix.length) : '')?.[1];
    if (pid === undefined || processExists(Number(pid))) continue;
    const path = join(folder, entry);
    const stats = lstatSync(path, { throwIfNoEntry: false });
    if (stats?.isFile() && Date.now() - stats.mtimeMs > ABANDONED_AFTER_MS) rmSync(path, { force: true });
  }
}

/** Whether a process with this id may exist (one this process may not signal does; an id no process can have is kept as if it did). */
function processExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 1 || pid > 2 ** 22) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Where the copy goes: the target, or the file a symlink target points to (the link is kept). */
function destinationOf(target: string): string {
  // A target whose path runs through a file is no symlink (lstat's ENOTDIR): the folder check names that file.
  if (kindOfPath(dirname(resolve(target))) !== 'folder' || !lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) return target;
  try {
    return realpathSync(target);
  } catch {
    throw new CommandError(`${target} is a symlink to a file that does not exist: name that file or another one`, EX_CANTCREAT);
  }
}

/** Refuses a target that must not be replaced: a folder, the database itself, a file that is not SQLite, or a database in use. */
function refuseTarget(target: string, source: Stats) {
  const existing = statSync(target, { throwIfNoEntry: false });
  if (existing === undefined) return;
  if (existing.isDirectory()) throw new CommandError(`${target} is a folder: name the backup file`, EX_USAGE);
  // A device, a pipe or a socket has no size, so it would pass for an empty file and be renamed over
  // (`/dev/null` replaced by a copy of the database).
  if (!existing.isFile())
    throw new CommandError(`${target} is not a regular file (a device, a pipe or a socket): name a file`, EX_CANTCREAT);
  // The database under another name (`./`, a symlink, a hard link, a second mount) would be "backed
  // up" onto itself, and no copy made: the same device and inode mean the same file.
  if (existing.dev === source.dev && existing.ino === source.ino)
    throw new CommandError(`${target} is the database itself: name another file`, EX_USAGE);
  if (existing.size > 0 && !isSqliteFile(target)) {
    throw new CommandError(`${target} exists and is not a SQLite database: it is left as it is, name another file`, EX_CANTCREAT);
  }
  // A -wal beside the target belongs to the database there: renamed under it, the copy would be read
  // through another database's log.
  const open = SIDE_FILES.map((suffix) => target + suffix).filter((path) => existsSync(path));
  if (open.length > 0)
    throw new CommandError(`${target} is in use or was not closed cleanly (${open.join(', ')} beside it): name another file`, EX_CANTCREAT);
}

/** Whether the file starts with SQLite's header string. */
function isSqliteFile(path: string): boolean {
  const header = Buffer.alloc(16);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  return header.toString('latin1') === 'SQLite format 3\0';
}

/** Makes the rename durable: the folder's entry, not only the file's pages, reaches the disk. */
function syncFolder(folder: string) {
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
