import { MAX_LEVEL } from './knowledge-base.js';

/**
 * The comparison of 2 to 5 role profiles: pure, over plain data. A profile is the level each role
 * expects of each competency (already resolved at a company size, or the baseline).
 */

export const CLASSIFICATIONS = ['shared', 'distinctive', 'peripheral'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export type ComparedCompetency = {
  competency: string;
  levels: { role: string; level: number }[];
  spread: number;
  classification: Classification;
  /** The role with the highest level when one role alone has it; null otherwise. */
  leader: string | null;
  /** Every role at the highest level. */
  leaders: string[];
};

export type Comparison = {
  similarity: number;
  pairwise: { roles: [string, string]; similarity: number }[];
  competencies: ComparedCompetency[];
  summary: {
    shared: string[];
    distinctive: { role: string; competencies: string[] }[];
    peripheral: string[];
  };
};

/** Rounds to 4 decimals so that sums in another order print the same. */
const round = (value: number) => Math.round(value * 10_000) / 10_000;

/**
 * `shared`: spread <= 1 and highest level >= 2; `distinctive`: spread >= 2; `peripheral`: highest
 * level <= 1. (Spread >= 2 implies a highest level >= 2, so the three never overlap.)
 */
export function classify(levels: readonly number[]): { spread: number; classification: Classification } {
  const max = Math.max(...levels);
  const spread = max - Math.min(...levels);
  if (spread >= 2) return { spread, classification: 'distinctive' };
  if (max >= 2) return { spread, classification: 'shared' };
  return { spread, classification: 'peripheral' };
}

/** 1 - (mean spread) / 4: 1 for identical profiles, 0 when every competency is 0 for one and 4 for another. */
export function similarityOf(spreads: readonly number[]): number {
  if (spreads.length === 0) return 1;
  const mean = spreads.reduce((sum, s) => sum + s, 0) / spreads.length;
  return round(1 - mean / MAX_LEVEL);
}

export type Profiles = {
  roles: readonly string[];
  competencies: readonly string[];
  level: (role: string, competency: string) => number;
};

export function compare({ roles, competencies, level }: Profiles): Comparison {
  if (roles.length < 2) throw new RangeError('A comparison needs at least two roles');
  if (new Set(roles).size !== roles.length) throw new RangeError('The roles of a comparison must be distinct');

  const compared = competencies.map((competency): ComparedCompetency => {
    const levels = roles.map((role) => ({ role, level: level(role, competency) }));
    const values = levels.map((l) => l.level);
    const { spread, classification } = classify(values);
    const max = Math.max(...values);
    const leaders = levels.filter((l) => l.level === max).map((l) => l.role);
    return {
      competency,
      levels,
      spread,
      classification,
      leader: classification === 'distinctive' && leaders.length === 1 ? (leaders[0] as string) : null,
      leaders: classification === 'distinctive' ? leaders : [],
    };
  });

  const pairwise: Comparison['pairwise'] = [];
  roles.forEach((a, i) => {
    for (const b of roles.slice(i + 1)) {
      const spreads = competencies.map((c) => Math.abs(level(a, c) - level(b, c)));
      pairwise.push({ roles: [a, b], similarity: similarityOf(spreads) });
    }
  });

  const slugsWhere = (keep: (c: ComparedCompetency) => boolean) => compared.filter(keep).map((c) => c.competency);
  return {
    similarity: similarityOf(compared.map((c) => c.spread)),
    pairwise,
    competencies: compared,
    summary: {
      shared: slugsWhere((c) => c.classification === 'shared'),
      distinctive: roles.map((role) => ({ role, competencies: slugsWhere((c) => c.leaders.includes(role)) })),
      peripheral: slugsWhere((c) => c.classification === 'peripheral'),
    },
  };
}
