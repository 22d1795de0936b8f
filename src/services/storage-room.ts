/**
 * What the database takes for the data it holds (its pages but the free ones), what its free pages
 * hold (room later writes reuse before the file grows), and what the disk under it has left
 * (undefined for a database in memory).
 */
export type StorageUse = { usedBytes: number; freePageBytes: number; freeDiskBytes: number | undefined; diskUnread?: true };

/** How much room new assessments may take: 0 sets no limit. */
export type StorageLimits = {
  /** The most the database may hold, in bytes (its pages but the free ones). */
  maxDatabaseBytes: number;
  /** What the disk under the database must keep free, in bytes. */
  diskReserveBytes: number;
};

/** Why there is no room: the database would hold more than it may, or the disk would go below its reserve. */
export type Shortage = 'database-limit' | 'disk-reserve';

/** How long a measure holds while writes go on; what they claim is counted in the meantime. */
export const STORAGE_MEASURE_MS = 1000;

/** A MiB, in bytes: the limits are set in MiB. */
export const MIB = 1024 * 1024;

/**
 * What a document is taken to add to the database beyond its text: its row's other columns, the
 * page space around it, and a label's characters beyond the first byte (a document's text is
 * counted in UTF-16 units, one byte each for the ASCII nearly all of it is; a 200-character label
 * in three-byte characters adds 400).
 */
export const ROW_OVERHEAD_BYTES = 1024;

/** A single submission, as room is judged: about the largest one with its overhead (10 KB is usual). */
export const SUBMISSION_BYTES = 16 * 1024;

/**
 * What a byte to be committed is taken to cost the disk until the next measure: written once to the
 * write-ahead log and once more to the file, each in whole pages, and a commit of a few documents
 * rewrites a table page besides (the log's file is reused once a checkpoint has copied it, not shrunk).
 */
const DISK_BYTES_PER_BYTE = 4;

/**
 * Within this much of a limit, every claim measures again: from there on, what the claims in
 * between would have to guess (how many pages the log took) is read instead.
 */
const NEAR_LIMIT_BYTES = 64 * MIB;

/**
 * Whether new assessments have room: the database within its limit, and the disk under it above its
 * reserve, so that clients' submissions cannot fill the disk the server (and whatever else runs on
 * the machine) needs. A request claims the bytes it would store before it is committed, and is
 * refused whole when they would pass a limit, counted on top of the last measure, of what was
 * committed since and of what requests still on their way to the disk have claimed, so that
 * requests side by side or one large batch cannot pass a limit together. A measure (three pragmas
 * and a statfs) is taken at most once every STORAGE_MEASURE_MS, at every claim within
 * NEAR_LIMIT_BYTES of a limit, and at the next claim after an erasure. The free pages of the file
 * count as room on the disk, since new data fills them before the file grows. A measure that fails
 * keeps the last one (the write it was taken for meets the fault itself).
 */
export class StorageRoom {
  private measuredAt = Number.NEGATIVE_INFINITY;
  private use: StorageUse = { usedBytes: 0, freePageBytes: 0, freeDiskBytes: undefined };
  /** Committed since the last measure. */
  private addedSince = 0;
  /** Claimed by requests not yet committed (nor failed). */
  private pending = 0;
  private shortage: Shortage | undefined;

  constructor(
    private readonly limits: StorageLimits,
    private readonly measure: () => StorageUse,
    /** Told when the shortage changes (room runs out, or comes back), with what is stored and the disk's free space. */
    private readonly onChange: (shortage: Shortage | undefined, figures: StorageFigures) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Claims room for `bytes` about to be committed: undefined when there is room (then `settle` must
   * follow, once the commit succeeds or fails), or why there is none (nothing claimed).
   */
  claim(bytes: number): Shortage | undefined {
    if (this.unlimited()) return undefined;
    const time = this.now();
    let room = this.roomAfter(this.addedSince + this.pending + bytes);
    if (time - this.measuredAt >= STORAGE_MEASURE_MS || Math.min(room.database, room.disk) < NEAR_LIMIT_BYTES) {
      if (this.measureNow(time)) room = this.roomAfter(this.pending + bytes);
    }
    const shortage = shortageOf(room);
    this.updateState();
    if (shortage === undefined) this.pending += bytes;
    return shortage;
  }

  /**
   * Measures now, telling onChange when room has already run out: at start, so that a limit the
   * database or the disk is past already (a DISK_RESERVE_MB larger than the disk's free space) is
   * logged before the first submission is refused for it. The shortage, if any.
   */
  check(): Shortage | undefined {
    if (this.unlimited()) return undefined;
    this.measureNow(this.now());
    return this.updateState();
  }

  /** Takes a measure (false when it failed: the last one stands, with what was added since). */
  private measureNow(time: number): boolean {
    this.measuredAt = time;
    try {
      const measured = this.measure();
      // A disk that could not be looked at keeps its last free space: the database's figures are new.
      this.use = measured.diskUnread ? { ...measured, freeDiskBytes: this.use.freeDiskBytes } : measured;
      this.addedSince = 0;
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Room has run out when a single submission no longer fits beside what is stored, whatever is
   * claimed at the moment: a large batch refused, or a burst of claims, changes nothing but their
   * own answers, and the state moves only with what is stored.
   */
  private updateState(): Shortage | undefined {
    const state = shortageOf(this.roomAfter(this.addedSince + SUBMISSION_BYTES));
    if (state !== this.shortage) {
      this.shortage = state;
      this.onChange(state, { storedBytes: this.use.usedBytes + this.addedSince, freeDiskBytes: this.use.freeDiskBytes });
    }
    return state;
  }

  /** Ends a claim: its bytes were committed, or they never will be. */
  settle(bytes: number, committed: boolean): void {
    if (this.unlimited()) return;
    this.pending -= bytes;
    if (committed) this.addedSince += bytes;
  }

  /** Something was erased: the next claim measures again rather than wait for the interval. */
  freed(): void {
    this.measuredAt = Number.NEGATIVE_INFINITY;
  }

  private unlimited(): boolean {
    return this.limits.maxDatabaseBytes === 0 && this.limits.diskReserveBytes === 0;
  }

  /** The room left under each limit once `bytes` more are stored, from the last measure (Infinity under none). */
  private roomAfter(bytes: number): Room {
    const { maxDatabaseBytes, diskReserveBytes } = this.limits;
    const { usedBytes, freePageBytes, freeDiskBytes } = this.use;
    return {
      database: maxDatabaseBytes === 0 ? Number.POSITIVE_INFINITY : maxDatabaseBytes - usedBytes - bytes,
      disk:
        diskReserveBytes === 0 || freeDiskBytes === undefined
          ? Number.POSITIVE_INFINITY
          : freeDiskBytes + freePageBytes - bytes * DISK_BYTES_PER_BYTE - diskReserveBytes,
    };
  }
}

const shortageOf = (room: Room): Shortage | undefined =>
  room.database < 0 ? 'database-limit' : room.disk < 0 ? 'disk-reserve' : undefined;

/** The bytes left under the database's limit and above the disk's reserve once some more are stored (negative: past it). */
type Room = { database: number; disk: number };

/** What onChange is told: the bytes stored (the last measure and what was committed since), and the disk's free space as last measured. */
export type StorageFigures = { storedBytes: number; freeDiskBytes: number | undefined };

/** What a client refused for a shortage is told; nothing of its request was stored. */
export const SHORTAGE_DETAIL: Record<Shortage, string> = {
  'database-limit':
    'The database would hold more than this server allows it to: nothing of this request was stored. Send it again (with the same ' +
    'Idempotency-Key, if it had one) once room is made (erasing stored assessments makes some), or as smaller batches.',
  'disk-reserve':
    'The disk that holds the database is nearly full: nothing of this request was stored. Send it again (with the same ' +
    'Idempotency-Key, if it had one) once the server has room (erasing stored assessments makes some).',
};
