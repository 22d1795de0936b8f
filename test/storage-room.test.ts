import { describe, expect, it, vi } from 'vitest';
import { MIB, type Shortage, STORAGE_MEASURE_MS, type StorageFigures, StorageRoom, type StorageUse } from '../src/services/storage-room.js';

const GIB = 1024 * MIB;

/** A room over a measure the test sets, on a clock the test moves. */
function roomWith(limits: { maxDatabaseBytes: number; diskReserveBytes: number }, first: Partial<StorageUse>) {
  let use: StorageUse = { usedBytes: 0, freePageBytes: 0, freeDiskBytes: undefined, ...first };
  let clock = 1_000_000;
  const measure = vi.fn(() => use);
  const changes: [Shortage | undefined, StorageFigures][] = [];
  const room = new StorageRoom(
    limits,
    measure,
    (shortage, figures) => changes.push([shortage, figures]),
    () => clock,
  );
  return {
    room,
    measure,
    changes,
    set: (next: Partial<StorageUse>) => {
      use = { ...use, ...next };
    },
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

describe('StorageRoom', () => {
  it('measures nothing and refuses nothing when no limit is set', () => {
    const { room, measure } = roomWith({ maxDatabaseBytes: 0, diskReserveBytes: 0 }, { usedBytes: 10, freeDiskBytes: 0 });
    expect(room.claim(1e12)).toBeUndefined();
    room.settle(1e12, true);
    expect(room.claim(1e12)).toBeUndefined();
    expect(measure).not.toHaveBeenCalled();
  });

  it('counts what requests still on their way have claimed, so that side by side they cannot pass the limit', () => {
    const { room } = roomWith({ maxDatabaseBytes: 1000 * MIB, diskReserveBytes: 0 }, { usedBytes: 500 * MIB });
    expect(room.claim(100 * MIB)).toBeUndefined();
    expect(room.claim(350 * MIB)).toBeUndefined();
    // 500 stored and 450 claimed leave 50: a claim of 60 is refused whole, one of 50 fits exactly.
    expect(room.claim(60 * MIB)).toBe('database-limit');
    expect(room.claim(50 * MIB)).toBeUndefined();
    // A claim whose commit failed gives its room back.
    room.settle(100 * MIB, false);
    expect(room.claim(60 * MIB)).toBeUndefined();
  });

  it('measures once an interval far from the limits, counting what was committed in between', () => {
    const { room, measure, set, tick } = roomWith({ maxDatabaseBytes: 10 * GIB, diskReserveBytes: 0 }, { usedBytes: GIB });
    expect(room.claim(4 * GIB)).toBeUndefined();
    room.settle(4 * GIB, true);
    expect(measure).toHaveBeenCalledTimes(1);
    // Not measured again: 1 GiB measured and 4 committed since leave 5, and 4 fit.
    expect(room.claim(4 * GIB)).toBeUndefined();
    room.settle(4 * GIB, true);
    expect(measure).toHaveBeenCalledTimes(1);
    // Past the limit by the count; the file took less than counted, as a new measure says.
    set({ usedBytes: 5 * GIB });
    expect(room.claim(2 * GIB)).toBeUndefined();
    expect(measure).toHaveBeenCalledTimes(2);
    room.settle(2 * GIB, true);
    tick(STORAGE_MEASURE_MS);
    set({ usedBytes: 7 * GIB });
    expect(room.claim(GIB)).toBeUndefined();
    expect(measure).toHaveBeenCalledTimes(3);
  });

  it('measures at every claim near a limit, and at the next claim after an erasure', () => {
    const { room, measure, set } = roomWith({ maxDatabaseBytes: 100 * MIB, diskReserveBytes: 0 }, { usedBytes: 90 * MIB });
    expect(room.claim(MIB)).toBeUndefined();
    room.settle(MIB, true);
    set({ usedBytes: 91 * MIB });
    expect(room.claim(MIB)).toBeUndefined();
    expect(measure).toHaveBeenCalledTimes(2);
    const far = roomWith({ maxDatabaseBytes: 10 * GIB, diskReserveBytes: 0 }, { usedBytes: GIB });
    far.room.claim(MIB);
    far.room.claim(MIB);
    expect(far.measure).toHaveBeenCalledTimes(1);
    far.room.freed();
    far.room.claim(MIB);
    expect(far.measure).toHaveBeenCalledTimes(2);
  });

  it('keeps the disk above its reserve, counting each byte four times over and the file’s free pages as room', () => {
    const { room, set } = roomWith({ maxDatabaseBytes: 0, diskReserveBytes: 100 * MIB }, { freeDiskBytes: 200 * MIB });
    expect(room.claim(20 * MIB)).toBeUndefined();
    // 200 free, 30 claimed taking 120: 20 into the reserve.
    expect(room.claim(10 * MIB)).toBe('disk-reserve');
    // Erasures leave free pages in the file, which new data fills before the file grows.
    set({ freePageBytes: 50 * MIB });
    room.freed();
    expect(room.claim(10 * MIB)).toBeUndefined();
  });

  it('sets no reserve for a database in memory, and names the database limit first when both are short', () => {
    const inMemory = roomWith({ maxDatabaseBytes: 0, diskReserveBytes: 100 * GIB }, {});
    expect(inMemory.room.claim(GIB)).toBeUndefined();
    const both = roomWith({ maxDatabaseBytes: MIB, diskReserveBytes: GIB }, { usedBytes: MIB, freeDiskBytes: GIB });
    expect(both.room.claim(1)).toBe('database-limit');
  });

  it('keeps the last measure when one fails, with what was committed since', () => {
    const { room, measure, tick } = roomWith({ maxDatabaseBytes: 10 * GIB, diskReserveBytes: 0 }, { usedBytes: 5 * GIB });
    expect(room.claim(4 * GIB)).toBeUndefined();
    room.settle(4 * GIB, true);
    measure.mockImplementation(() => {
      throw new Error('the folder is gone');
    });
    tick(STORAGE_MEASURE_MS);
    expect(room.claim(GIB)).toBeUndefined();
    room.settle(GIB, true);
    expect(room.claim(1)).toBe('database-limit');
  });

  it('tells each change once, with the figures it was judged on', () => {
    const { room, changes, set } = roomWith({ maxDatabaseBytes: 100 * MIB, diskReserveBytes: 0 }, { usedBytes: 100 * MIB });
    room.claim(2 * MIB);
    room.claim(2 * MIB);
    set({ usedBytes: 10 * MIB });
    room.claim(2 * MIB);
    room.claim(2 * MIB);
    expect(changes.map(([shortage]) => shortage)).toEqual(['database-limit', undefined]);
    // Told what is stored, not what a claim would add.
    expect(changes[0]?.[1]).toEqual({ storedBytes: 100 * MIB, freeDiskBytes: undefined });
    expect(changes[1]?.[1]).toEqual({ storedBytes: 10 * MIB, freeDiskBytes: undefined });
  });

  // Guards against (from an operations review): a DISK_RESERVE_MB larger than the disk's free space
  // went unsaid until the first submission was refused for it.
  it('tells a limit passed already when checked, before any claim, and nothing when there is room', () => {
    const short = roomWith({ maxDatabaseBytes: 0, diskReserveBytes: 100 * GIB }, { usedBytes: MIB, freeDiskBytes: 50 * GIB });
    expect(short.room.check()).toBe('disk-reserve');
    expect(short.changes).toEqual([['disk-reserve', { storedBytes: MIB, freeDiskBytes: 50 * GIB }]]);
    // The claim after it measures again (the interval has not passed, but the disk is near its reserve) and tells nothing new.
    expect(short.room.claim(MIB)).toBe('disk-reserve');
    expect(short.changes).toHaveLength(1);
    const roomy = roomWith({ maxDatabaseBytes: 10 * GIB, diskReserveBytes: GIB }, { usedBytes: MIB, freeDiskBytes: 50 * GIB });
    expect(roomy.room.check()).toBeUndefined();
    expect([roomy.changes, roomy.measure.mock.calls.length]).toEqual([[], 1]);
    const unlimited = roomWith({ maxDatabaseBytes: 0, diskReserveBytes: 0 }, { usedBytes: MIB, freeDiskBytes: 0 });
    expect([unlimited.room.check(), unlimited.measure.mock.calls.length]).toEqual([undefined, 0]);
  });

  it('refuses a claim too large for the room left without taking the room to have run out', () => {
    const { room, changes } = roomWith({ maxDatabaseBytes: 100 * MIB, diskReserveBytes: 0 }, { usedBytes: 90 * MIB });
    for (let i = 0; i < 3; i++) {
      expect(room.claim(20 * MIB)).toBe('database-limit');
      expect(room.claim(10 * 1024)).toBeUndefined();
      room.settle(10 * 1024, false);
    }
    expect(changes).toEqual([]);
  });

  it('keeps the last free disk space when the disk cannot be looked at, and takes the database’s new figures', () => {
    const { room, set } = roomWith(
      { maxDatabaseBytes: 100 * MIB, diskReserveBytes: 100 * MIB },
      { usedBytes: 100 * MIB, freeDiskBytes: 101 * MIB },
    );
    expect(room.claim(MIB)).toBe('database-limit');
    // Erasures freed the database's pages while the folder went out of reach.
    set({ usedBytes: 10 * MIB, freeDiskBytes: undefined, diskUnread: true });
    room.freed();
    expect(room.claim(MIB / 8)).toBeUndefined();
    // The disk's last free space still stands: 101 MiB less four times 2 MiB goes into the reserve.
    expect(room.claim(2 * MIB)).toBe('disk-reserve');
  });
});
