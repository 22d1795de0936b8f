import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCORING_VERSION, type ScoringInput, score } from '../src/domain/scoring.js';

/**
 * Exact results for fixed answer sets, recorded from the formula as released (shape-1.0; shape-1.1 to
 * shape-1.4 give the same results but for the set each adds, straight-lined or, from shape-1.4, with a
 * response style; shape-1.5 rounds a half of a hundredth away from zero where shape-1.4 sometimes
 * rounded it down: a highlight of 9.375 points, every third question at a startup, is 9.38; shape-1.6 takes
 * highlights that moved the gap exactly as much in slug order, where shape-1.5 let rounding error order them;
 * shape-1.7 flags answers that contradict themselves, inconsistent, and calls them lean at most). Any change to the arithmetic, even one that moves a fit by a rounding step or reorders a sum, changes these;
 * a deliberate change to the formula records them again with a new scoring version.
 *
 * The questions, roles and levels scored here are a frozen copy (`fixtures/scoring-input.json`,
 * taken from the seed of release 2026.12.0), so that a new content release does not change these
 * results: only the formula can.
 */
type Frozen = Pick<ScoringInput, 'questions' | 'competencies' | 'roles'> & {
  levels: Record<string, Record<string, Record<string, number>>>;
};
const frozen = JSON.parse(readFileSync(new URL('./fixtures/scoring-input.json', import.meta.url), 'utf8')) as Frozen;
const { questions, competencies, roles } = frozen;
const SIZES: (string | null)[] = Object.keys(frozen.levels).map((size) => (size === 'baseline' ? null : size));

function levelAt(size: string | null) {
  const levels = frozen.levels[size ?? 'baseline'] ?? {};
  return (role: string, competency: string): number => levels[role]?.[competency] as number;
}

/**
 * The digest of the 2,000 generated results, per scoring version: a change to the formula that keeps
 * the version fails here, and recording new snapshots does not make it pass.
 */
const GENERATED_DIGEST: Record<string, string> = {
  'shape-1.0': '6302838fcadd979e0599e114df5f58cf07ff594f67edef96a7d42c43bdbed56b',
  // No generated set is straight-lined, so the one change of shape-1.1 leaves these results alone.
  'shape-1.1': '6302838fcadd979e0599e114df5f58cf07ff594f67edef96a7d42c43bdbed56b',
  // Nor is any alike once keyed, so shape-1.2 leaves them alone too.
  'shape-1.2': '6302838fcadd979e0599e114df5f58cf07ff594f67edef96a7d42c43bdbed56b',
  // Nor does any give every answered competency one affinity, so shape-1.3 leaves them alone too.
  'shape-1.3': '6302838fcadd979e0599e114df5f58cf07ff594f67edef96a7d42c43bdbed56b',
  // A third of each set's questions are left out, so the response style lowers some confidences.
  'shape-1.4': 'ef68bd4b86760243c3dd3e6426fa08651ab8cef1dac6fe80b53903be7c732f67',
  // Some of them land on an exact half of a hundredth, which shape-1.4 rounded as floating point left it.
  'shape-1.5': '71831e934a74fd17514672d827a837acacd653a7e68522d56686569b99b71afc',
  // Some have two highlights that moved the gap exactly as much, now taken in slug order.
  'shape-1.6': '1fd9d35157b5c468fbef46731b3a5cc269b7af44d653a1661452184c160fe5fc',
  // Their answers are drawn at random, so most with 5 or more competencies answered both ways are inconsistent.
  'shape-1.7': 'b65d054cc3de8d98eb7768f0a27db11cc8df9a091c0e130e45e6368ee790a358',
};

/** A repeatable spread of answers: question i of set k answers ((i * a + k * b) mod 5) + 1. */
const spread = (k: number, a: number, b: number, every = 1) =>
  questions.filter((_, i) => i % every === 0).map((q, i) => ({ questionId: q.id, value: ((i * a + k * b) % 5) + 1 }));

/** The value to answer `q` with so that, once keyed, it says `agreement` (1..5). */
const keyedValue = (q: (typeof questions)[number], agreement: number) => ({
  questionId: q.id,
  value: q.keyed === 'plus' ? agreement : 6 - agreement,
});
/** One view per kind of work: drawn to the technical competencies, away from the people ones, neutral elsewhere. */
const TECHNICAL = ['hands-on-coding', 'code-review', 'system-design', 'technical-decision-making', 'technical-expertise'];
const PEOPLE = ['career-development', 'hiring', 'performance-reviews', 'team-culture'];
const viewOf = (q: (typeof questions)[number]) => (TECHNICAL.includes(q.competency) ? 5 : PEOPLE.includes(q.competency) ? 1 : 3);

const ANSWER_SETS: Record<string, ScoringInput['answers']> = {
  'all questions, spread 1': spread(1, 7, 3),
  'all questions, spread 2': spread(2, 3, 11),
  'all questions, spread 3, reversed order': spread(3, 2, 5).reverse(),
  'every third question': spread(4, 7, 13, 3),
  'every fifth question (incomplete)': spread(5, 4, 1, 5),
  'all agree (straight-lining)': questions.map((q) => ({ questionId: q.id, value: 4 })),
  'alike once keyed, one competency in seven left out (straight-lining from shape-1.2)': questions
    .filter((q) => competencies.findIndex((c) => c.slug === q.competency) % 7 !== 0)
    .map((q) => ({ questionId: q.id, value: q.keyed === 'plus' ? 5 : 1 })),
  'one affinity for every competency answered, one in seven left out (straight-lining from shape-1.3)': questions
    .filter((q) => competencies.findIndex((c) => c.slug === q.competency) % 7 !== 3)
    .map((q) => ({ questionId: q.id, value: q.keyed === 'plus' ? 5 : 3 })),
  'a step from one affinity, four technical competencies left out (response-style from shape-1.4)': questions
    .filter((q) => !['hands-on-coding', 'technical-expertise', 'system-design', 'code-review'].includes(q.competency))
    .map((q) => ({ questionId: q.id, value: q.keyed === 'plus' ? 5 : 3 }))
    .map((a, i, all) => (i === all.length - 1 ? { ...a, value: a.value === 5 ? 4 : a.value + 1 } : a)),
  // Each competency's two items say the same once keyed, one view per category: no flag.
  'consistent, technical over people': questions.map((q) => keyedValue(q, viewOf(q))),
  // The same view with two steps more agreement on every reverse-keyed item (5 at most): a clear
  // Tech Lead in shape-1.6 (margin 42.43 at the baseline), lean and inconsistent from shape-1.7.
  'the same view, reverse-keyed items two steps more agreed (inconsistent from shape-1.7)': questions.map((q) =>
    q.keyed === 'plus' ? keyedValue(q, viewOf(q)) : { questionId: q.id, value: Math.min(5, 8 - viewOf(q)) },
  ),
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
    expect(digest.digest('hex')).toBe(GENERATED_DIGEST[SCORING_VERSION]);
  });
});
