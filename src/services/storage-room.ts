/** What the database takes for the data it holds, and what the disk under it has left (none for one in memory). */
export type StorageUse = { usedBytes: number; freeDiskBytes: number | undefined };

/** How much room new assessments may take: 0 sets no limit. */
export type StorageLimits = {
  /** The most the database may hold, in bytes (its pages but the free ones). */
  maxDatabaseBytes: number;
  /** What the disk under the database must keep free, in bytes. */
  diskReserveBytes: number;
};

/** Why there is no room: the database holds as much as it may, or the disk is down to its reserve. */
export type Shortage = 'database-limit' | 'disk-reserve';

/** How long a measure holds while writes go on; what they add is counted in the meantime. */
export const STORAGE_MEASURE_MS = 1000;

/** A MiB, in bytes: the limits are set in MiB. */
export const MIB = 1024 * 1024;

/**
 * Whether new assessments have room: the database within its limit, and the disk under it above its
 * reserve, so that one client's submissions cannot fill the disk the server (and whatever else runs
 * on the machine) needs. A measure (two pragmas and a statfs) is taken at most once every
 * STORAGE_MEASURE_MS, or at the next write after an erasure; in between, the bytes of the documents
 * committed since are counted against both. A measure that fails keeps the last one: the write it
 * was taken for meets the fault itself.
 */
export class StorageRoom {
  private measuredAt = Number.NEGATIVE_INFINITY;
  private use: StorageUse = { usedBytes: 0, freeDiskBytes: undefined };
  private addedSince = 0;
  private shortage: Shortage | undefined;

  constructor(
    private readonly limits: StorageLimits,
    private readonly measure: () => StorageUse,
    /** Told when the shortage changes: room runs out, or comes back. */
    private readonly onChange: (shortage: Shortage | undefined, use: StorageUse) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Why new assessments cannot be stored now, or undefined when they can. */
  shortageNow(): Shortage | undefined {
    const { maxDatabaseBytes, diskReserveBytes } = this.limits;
    if (maxDatabaseBytes === 0 && diskReserveBytes === 0) return undefined;
    const time = this.now();
    if (time - this.measuredAt >= STORAGE_MEASURE_MS) {
      this.measuredAt = time;
      try {
        this.use = this.measure();
        this.addedSince = 0;
      } catch {
        // The last measure stands, with what was added since.
      }
    }
    const { usedBytes, freeDiskBytes } = this.use;
    const shortage =
      maxDatabaseBytes > 0 && usedBytes + this.addedSince >= maxDatabaseBytes
        ? 'database-limit'
        : diskReserveBytes > 0 && freeDiskBytes !== undefined && freeDiskBytes - this.addedSince <= diskReserveBytes
          ? 'disk-reserve'
          : undefined;
    if (shortage !== this.shortage) {
      this.shortage = shortage;
      this.onChange(shortage, this.use);
    }
    return shortage;
  }

  /** Counts bytes committed since the last measure. */
  added(bytes: number): void {
    this.addedSince += bytes;
  }

  /** Something was erased: the next write measures again rather than wait for the interval. */
  freed(): void {
    this.measuredAt = Number.NEGATIVE_INFINITY;
  }
}

/** What a client refused for a shortage is told; nothing of its request was stored. */
export const SHORTAGE_DETAIL: Record<Shortage, string> = {
  'database-limit':
    'The database holds as much as this server allows it to: nothing of this request was stored. Send it again, with the same ' +
    'Idempotency-Key, once room is made (erasing stored assessments makes some).',
  'disk-reserve':
    'The disk that holds the database is nearly full: nothing of this request was stored. Send it again, with the same ' +
    'Idempotency-Key, once the server has room.',
};
