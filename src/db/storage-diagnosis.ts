import { accessSync, constants, existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';

/** A database that fails to open on a disk with less free than this is reported as on a full disk. */
export const LOW_DISK_BYTES = 1024 * 1024;

/** How the diagnosis looks at the file system; tests hand it their own. */
export type StorageProbes = {
  exists(path: string): boolean;
  /** Throws (with a code such as EACCES, EPERM or EROFS) when this process may not write `path`. */
  writable(path: string): void;
  freeBytes(folder: string): number;
};

const fileSystem: StorageProbes = {
  exists: existsSync,
  writable: (path) => accessSync(path, constants.W_OK),
  freeBytes: (folder) => {
    const { bavail, bsize } = statfsSync(folder);
    return bavail * bsize;
  },
};

/**
 * What about a database's storage explains why it failed to open, when SQLite's message does not: the
 * disk holding it (nearly) full, or which of the paths SQLite must write this process may not write:
 * the file, its `-wal` and `-shm`, and the folder they are created in. SQLite names none of them ("attempt
 * to write a readonly database" is all a root-owned `-shm` gives). Undefined when nothing stands out.
 */
export function storageDiagnosis(path: string, probes: StorageProbes = fileSystem): string | undefined {
  const folder = dirname(path);
  if (!probes.exists(folder)) return undefined;
  const findings: string[] = [];
  const free = freeBytesOf(folder, probes);
  if (free !== undefined && free < LOW_DISK_BYTES) findings.push(`the disk holding ${folder} has ${formatBytes(free)} free`);
  const refused = [path, `${path}-wal`, `${path}-shm`, folder].flatMap((candidate) => {
    if (!probes.exists(candidate)) return [];
    try {
      probes.writable(candidate);
      return [];
    } catch (error) {
      return [`${candidate === folder ? `its folder ${folder}` : candidate} (${(error as NodeJS.ErrnoException).code ?? 'refused'})`];
    }
  });
  if (refused.length > 0) findings.push(`this process may not write ${refused.join(', ')}`);
  return findings.length === 0 ? undefined : findings.join('; ');
}

function freeBytesOf(folder: string, probes: StorageProbes): number | undefined {
  try {
    return probes.freeBytes(folder);
  } catch {
    return undefined;
  }
}

function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${Math.floor(bytes / 1024)} KiB`;
}
