import { describe, expect, it, vi } from 'vitest';
import { type Shortage, STORAGE_MEASURE_MS, StorageRoom, type StorageUse } from '../src/services/storage-room.js';

/** A room over a measure the test sets, on a clock the test moves. */
function roomWith(limits: { maxDatabaseBytes: number; diskReserveBytes: number }, first: StorageUse) {
  let use = first;
  let clock = 1_000_000;
  const measure = vi.fn(() => use);
  const changes: (Shortage | undefined)[] = [];
  const room = new StorageRoom(
    limits,
    measure,
    (shortage) => changes.push(shortage),
    () => clock,
  );
  return {
    room,
    measure,
    changes,
    set: (next: StorageUse) => {
      use = next;
    },
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

describe('StorageRoom', () => {
  it('measures nothing and refuses nothing when no limit is set', () => {
    const { room, measure } = roomWith({ maxDatabaseBytes: 0, diskReserveBytes: 0 }, { usedBytes: 10, freeDiskBytes: 0 });
    room.added(1e12);
    expect(room.shortageNow()).toBeUndefined();
    expect(measure).not.toHaveBeenCalled();
  });

  it('refuses once the database reaches its limit, counting what was added since the last measure', () => {
    const { room, measure, tick } = roomWith({ maxDatabaseBytes: 1000, diskReserveBytes: 0 }, { usedBytes: 900, freeDiskBytes: 1e9 });
    expect(room.shortageNow()).toBeUndefined();
    room.added(99);
    expect(room.shortageNow()).toBeUndefined();
    room.added(1);
    expect(room.shortageNow()).toBe('database-limit');
    expect(measure).toHaveBeenCalledTimes(1);
    // A new measure replaces the count: the file took less than the documents' text.
    tick(STORAGE_MEASURE_MS);
    expect(room.shortageNow()).toBeUndefined();
    expect(measure).toHaveBeenCalledTimes(2);
  });

  it('refuses once the disk is down to its reserve, and not for a database in memory', () => {
    const { room, set, tick } = roomWith({ maxDatabaseBytes: 0, diskReserveBytes: 500 }, { usedBytes: 0, freeDiskBytes: 600 });
    expect(room.shortageNow()).toBeUndefined();
    room.added(100);
    expect(room.shortageNow()).toBe('disk-reserve');
    set({ usedBytes: 0, freeDiskBytes: undefined });
    tick(STORAGE_MEASURE_MS);
    expect(room.shortageNow()).toBeUndefined();
  });

  it('names the database limit first when both are short', () => {
    const { room } = roomWith({ maxDatabaseBytes: 10, diskReserveBytes: 10 }, { usedBytes: 10, freeDiskBytes: 10 });
    expect(room.shortageNow()).toBe('database-limit');
  });

  it('measures at most once an interval, and again at once after an erasure', () => {
    const { room, measure, set, tick } = roomWith({ maxDatabaseBytes: 1000, diskReserveBytes: 0 }, { usedBytes: 1000, freeDiskBytes: 1e9 });
    expect(room.shortageNow()).toBe('database-limit');
    set({ usedBytes: 10, freeDiskBytes: 1e9 });
    tick(STORAGE_MEASURE_MS - 1);
    expect(room.shortageNow()).toBe('database-limit');
    expect(measure).toHaveBeenCalledTimes(1);
    room.freed();
    expect(room.shortageNow()).toBeUndefined();
    expect(measure).toHaveBeenCalledTimes(2);
  });

  it('keeps the last measure when one fails, with what was added since', () => {
    const { room, measure, tick } = roomWith({ maxDatabaseBytes: 1000, diskReserveBytes: 0 }, { usedBytes: 500, freeDiskBytes: 1e9 });
    expect(room.shortageNow()).toBeUndefined();
    room.added(400);
    measure.mockImplementationOnce(() => {
      throw new Error('the database is closed');
    });
    tick(STORAGE_MEASURE_MS);
    expect(room.shortageNow()).toBeUndefined();
    room.added(100);
    expect(room.shortageNow()).toBe('database-limit');
  });

  it('tells each change once: room running out, and coming back', () => {
    const { room, changes, set, tick } = roomWith({ maxDatabaseBytes: 1000, diskReserveBytes: 0 }, { usedBytes: 999, freeDiskBytes: 1e9 });
    room.shortageNow();
    room.added(1);
    room.shortageNow();
    room.shortageNow();
    set({ usedBytes: 100, freeDiskBytes: 1e9 });
    tick(STORAGE_MEASURE_MS);
    room.shortageNow();
    room.shortageNow();
    expect(changes).toEqual(['database-limit', undefined]);
  });
});
