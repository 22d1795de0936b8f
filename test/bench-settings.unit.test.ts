// The bench scripts' settings from the environment: a bad value stops the run with its name, before
// any server starts, instead of reaching autocannon as NaN or a fraction.
import { afterEach, describe, expect, it } from 'vitest';
import { roundSettings, wholeNumberSetting } from '../bench/lib.js';

const NAMES = ['BENCH_TEST_SETTING', 'BENCH_DURATION', 'BENCH_WARMUP'];
const saved = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));

afterEach(() => {
  for (const name of NAMES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe('wholeNumberSetting', () => {
  it('gives the fallback when the variable is unset or empty', () => {
    delete process.env.BENCH_TEST_SETTING;
    expect(wholeNumberSetting('BENCH_TEST_SETTING', 7)).toBe(7);
    process.env.BENCH_TEST_SETTING = '';
    expect(wholeNumberSetting('BENCH_TEST_SETTING', 7)).toBe(7);
  });

  it('reads a whole number at or above the least value', () => {
    process.env.BENCH_TEST_SETTING = '12';
    expect(wholeNumberSetting('BENCH_TEST_SETTING', 7)).toBe(12);
    process.env.BENCH_TEST_SETTING = '0';
    expect(wholeNumberSetting('BENCH_TEST_SETTING', 7, 0)).toBe(0);
  });

  it.each(['abc', '2.5', '-1', '0', '1e3', '0x10', ' ', '99999999999999999999'])('refuses %j, naming the variable', (raw) => {
    process.env.BENCH_TEST_SETTING = raw;
    expect(() => wholeNumberSetting('BENCH_TEST_SETTING', 7)).toThrow(/^BENCH_TEST_SETTING must be a whole number from 1, not /);
  });
});

describe('roundSettings', () => {
  it('defaults to 10 s rounds after a 3 s warm-up, and allows no warm-up', () => {
    delete process.env.BENCH_DURATION;
    delete process.env.BENCH_WARMUP;
    expect(roundSettings()).toEqual({ duration: 10, warmup: 3 });
    process.env.BENCH_WARMUP = '0';
    expect(roundSettings()).toEqual({ duration: 10, warmup: 0 });
  });

  it('refuses rounds of no time', () => {
    process.env.BENCH_DURATION = '0';
    expect(() => roundSettings()).toThrow(/BENCH_DURATION must be a whole number from 1/);
  });
});
