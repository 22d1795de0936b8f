import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadContent } from '../src/content/load.js';
import { type ScoringInput, score } from '../src/domain/scoring.js';

/**
 * Exact results for fixed answer sets, recorded from the formula as released (shape-1.0). Any change
 * to the arithmetic, even one that moves a fit by a rounding step or reorders a sum, changes these;
 * a deliberate change to the formula records them again with a new scoring version.
 */
const content = loadContent();
const { questions, competencies, roles, companySizes } = content;
const SIZES: (string | null)[] = [null, ...companySizes.map((s) => s.slug)];

function levelAt(size: string | null) {
  return (role: string, competency: string): number =>
    content.variants.find((v) => v.role === role && v.competency === competency && v.companySize === size)?.level ??
    (content.expectations.find((e) => e.role === role && e.competency === competency)?.level as number);
}

/** A repeatable spread of answers: question i of set k answers ((i * a + k * b) mod 5) + 1. */
const spread = (k: number, a: number, b: number, every = 1) =>
  questions.filter((_, i) => i % every === 0).map((q, i) => ({ questionId: q.id, value: ((i * a + k * b) % 5) + 1 }));

const ANSWER_SETS: Record<string, ScoringInput['answers']> = {
  'all questions, spread 1': spread(1, 7, 3),
  'all questions, spread 2': spread(2, 3, 11),
  'all questions, spread 3, reversed order': spread(3, 2, 5).reverse(),
  'every third question': spread(4, 7, 13, 3),
  'every fifth question (incomplete)': spread(5, 4, 1, 5),
  'all agree (straight-lining)': questions.map((q) => ({ questionId: q.id, value: 4 })),
  // Three answers whose fits land on a rounding edge: summing in another order changes them.
  'three answers on a rounding edge': [
    { questionId: 'q-decisions-final-call', value: 1 },
    { questionId: 'q-crossfunc-wearing', value: 1 },
    { questionId: 'q-incident-handoff', value: 5 },
  ],
};

/** Deterministic pseudo-random answer sets (a linear congruential generator), for the digest below. */
function* generatedSets(count: number) {
  let state = 2026;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state;
  };
  for (let k = 0; k < count; k++) {
    const size = SIZES[next() % SIZES.length] as string | null;
    const answers = questions.filter(() => next() % 3 !== 0).map((q) => ({ questionId: q.id, value: (next() % 5) + 1 }));
    yield { size, answers };
  }
}

describe('score(): exact results', () => {
  for (const size of SIZES) {
    for (const [name, answers] of Object.entries(ANSWER_SETS)) {
      it(`${name}, ${size ?? 'baseline'}`, () => {
        expect(JSON.stringify(score({ questions, competencies, roles, level: levelAt(size), answers }))).toMatchSnapshot();
      });
    }
  }

  it('gives the recorded results for 2,000 generated answer sets (their digest)', () => {
    const digest = createHash('sha256');
    for (const { size, answers } of generatedSets(2000)) {
      digest.update(JSON.stringify(score({ questions, competencies, roles, level: levelAt(size), answers })));
    }
    expect(digest.digest('hex')).toMatchSnapshot();
  });
});
