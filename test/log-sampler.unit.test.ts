import { describe, expect, it, vi } from 'vitest';
import { LogSampler } from '../src/plugins/errors.js';

describe('LogSampler', () => {
  it('logs the first line at once, then one a second at most, each with how many it left out', () => {
    let now = 5_000;
    const sampler = new LogSampler(1000, () => now);
    const logged: number[] = [];
    const take = () => sampler.take((leftOut) => logged.push(leftOut));
    take();
    for (const at of [5_100, 5_500, 5_999]) {
      now = at;
      take();
    }
    expect(logged).toEqual([0]);
    now = 6_000;
    take();
    expect(logged).toEqual([0, 3]);
    now = 60_000;
    take();
    expect(logged).toEqual([0, 3, 0]);
  });

  // Guards against: a flood that stopped left its count untold (80 refused submissions on a full
  // disk logged one line, alsoFailed 0).
  it('has the last one left out write its line, with the count of the others, once the second is over', () => {
    vi.useFakeTimers();
    try {
      let now = 5_000;
      const sampler = new LogSampler(1000, () => now);
      const logged: [string, number][] = [];
      const take = (who: string) => sampler.take((leftOut) => logged.push([who, leftOut]));
      take('first');
      for (const [who, at] of [
        ['a', 5_100],
        ['b', 5_400],
        ['c', 5_800],
      ] as const) {
        now = at;
        take(who);
      }
      expect(logged).toEqual([['first', 0]]);
      now = 6_000;
      vi.advanceTimersByTime(900);
      expect(logged).toEqual([
        ['first', 0],
        ['c', 2],
      ]);
      // The next one is then a second after that line.
      now = 6_500;
      take('d');
      vi.advanceTimersByTime(500);
      expect(logged.at(-1)).toEqual(['d', 0]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('writes the waiting line at once when asked, as the server closes, and leaves no timer behind', () => {
    vi.useFakeTimers();
    try {
      let now = 1_000;
      const sampler = new LogSampler(1000, () => now);
      const logged: number[] = [];
      for (const at of [1_000, 1_100, 1_200]) {
        now = at;
        sampler.take((leftOut) => logged.push(leftOut));
      }
      sampler.writeLast();
      expect(logged).toEqual([0, 1]);
      // A timer left waiting would hold the closed app's logger for up to a second.
      expect(vi.getTimerCount()).toBe(0);
      sampler.writeLast();
      expect(logged).toEqual([0, 1]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('logs at once when the clock starts at zero', () => {
    const logged: number[] = [];
    new LogSampler(1000, () => 0).take((leftOut) => logged.push(leftOut));
    expect(logged).toEqual([0]);
  });
});
