import { describe, expect, it } from 'vitest';
import { classify, compare, similarityOf } from '../src/domain/comparison.js';

const profiles = (levels: Record<string, Record<string, number>>) => {
  const roles = Object.keys(levels);
  const competencies = Object.keys(levels[roles[0] as string] as object);
  return { roles, competencies, level: (role: string, competency: string) => levels[role]?.[competency] as number };
};

describe('classify', () => {
  it.each([
    // [levels, spread, classification]
    [[2, 2], 0, 'shared'],
    [[2, 3], 1, 'shared'], // spread exactly 1, highest >= 2
    [[1, 2], 1, 'shared'], // highest exactly 2
    [[0, 1], 1, 'peripheral'], // highest exactly 1
    [[1, 1], 0, 'peripheral'],
    [[0, 0], 0, 'peripheral'],
    [[0, 2], 2, 'distinctive'], // spread exactly 2
    [[1, 3], 2, 'distinctive'],
    [[0, 4], 4, 'distinctive'],
    [[3, 3, 1], 2, 'distinctive'],
    [[2, 3, 3, 2, 3], 1, 'shared'],
  ] as const)('%j has spread %i and is %s', (levels, spread, classification) => {
    expect(classify(levels)).toEqual({ spread, classification });
  });
});

describe('similarity', () => {
  it('is 1 for identical profiles, with no distinctive competency', () => {
    const result = compare(profiles({ a: { x: 3, y: 0, z: 4 }, b: { x: 3, y: 0, z: 4 } }));
    expect(result.similarity).toBe(1);
    expect(result.competencies.every((c) => c.classification !== 'distinctive')).toBe(true);
    expect(result.summary.distinctive).toEqual([
      { role: 'a', competencies: [] },
      { role: 'b', competencies: [] },
    ]);
  });

  it('is 0 for opposite extremes', () => {
    const result = compare(profiles({ a: { x: 0, y: 4, z: 0 }, b: { x: 4, y: 0, z: 4 } }));
    expect(result.similarity).toBe(0);
    expect(result.summary.distinctive).toEqual([
      { role: 'a', competencies: ['y'] },
      { role: 'b', competencies: ['x', 'z'] },
    ]);
  });

  it('is 1 - mean spread / 4', () => {
    // spreads 1, 2, 0, 3: mean 1.5
    const result = compare(profiles({ a: { w: 2, x: 0, y: 3, z: 4 }, b: { w: 3, x: 2, y: 3, z: 1 } }));
    expect(result.similarity).toBeCloseTo(1 - 1.5 / 4, 10);
    expect(similarityOf([1, 2, 0, 3])).toBeCloseTo(0.625, 10);
  });

  it('names the leader of a distinctive competency, and no leader on a tie', () => {
    const result = compare(profiles({ a: { x: 4, y: 3 }, b: { x: 1, y: 3 }, c: { x: 2, y: 0 } }));
    const [x, y] = result.competencies;
    expect(x).toMatchObject({ classification: 'distinctive', leader: 'a', leaders: ['a'] });
    expect(y).toMatchObject({ classification: 'distinctive', leader: null, leaders: ['a', 'b'] });
    expect(result.summary.distinctive).toEqual([
      { role: 'a', competencies: ['x', 'y'] },
      { role: 'b', competencies: ['y'] },
      { role: 'c', competencies: [] },
    ]);
  });
});

describe('compare', () => {
  const levels = {
    a: { p: 4, q: 1, r: 2, s: 0, t: 3 },
    b: { p: 1, q: 4, r: 3, s: 1, t: 3 },
    c: { p: 2, q: 2, r: 0, s: 0, t: 4 },
  };

  it('does not depend on the order of the roles', () => {
    const forward = compare(profiles(levels));
    const backward = compare({ ...profiles(levels), roles: ['c', 'b', 'a'] });
    expect(backward.similarity).toBe(forward.similarity);
    expect(backward.competencies.map((c) => [c.spread, c.classification, c.leader])).toEqual(
      forward.competencies.map((c) => [c.spread, c.classification, c.leader]),
    );
    const pairs = (r: typeof forward) => new Map(r.pairwise.map((p) => [[...p.roles].sort().join('+'), p.similarity]));
    expect(pairs(backward)).toEqual(pairs(forward));
    expect(new Set(backward.summary.shared)).toEqual(new Set(forward.summary.shared));
  });

  it('gives the pairwise similarity of every pair', () => {
    const result = compare(profiles(levels));
    expect(result.pairwise.map((p) => p.roles)).toEqual([
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'c'],
    ]);
    // a vs b: spreads 3,3,1,1,0 -> mean 1.6
    expect(result.pairwise[0]?.similarity).toBeCloseTo(1 - 1.6 / 4, 10);
    const two = compare({ ...profiles(levels), roles: ['a', 'b'] });
    expect(two.similarity).toBe(result.pairwise[0]?.similarity);
  });

  it('classifies across all roles at once', () => {
    const result = compare(profiles(levels));
    expect(result.competencies.map((c) => c.classification)).toEqual(['distinctive', 'distinctive', 'distinctive', 'peripheral', 'shared']);
    expect(result.summary.shared).toEqual(['t']);
    expect(result.summary.peripheral).toEqual(['s']);
  });

  it('refuses fewer than two roles or repeated roles', () => {
    expect(() => compare({ ...profiles(levels), roles: ['a'] })).toThrow(RangeError);
    expect(() => compare({ ...profiles(levels), roles: ['a', 'a'] })).toThrow(RangeError);
  });
});
