import { describe, expect, it } from 'vitest';
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

  it('logs at once when the clock starts at zero', () => {
    const logged: number[] = [];
    new LogSampler(1000, () => 0).take((leftOut) => logged.push(leftOut));
    expect(logged).toEqual([0]);
  });
});
