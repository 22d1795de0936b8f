import { LEVEL_NAMES, MAX_LEVEL } from './knowledge-base.js';

/**
 * Scoring of a self-assessment against the roles' expected levels: pure and deterministic.
 *
 * 1. Each answer v (1..5) is reverse-keyed when the item is (v' = 6 - v) and mapped to 0..1. Every
 *    competency has as many reverse-keyed items as plain ones (the content loader enforces it), so
 *    answering every item alike leaves every affinity at 1/2.
 * 2. A competency's affinity a_c is the mean of its answered items.
 * 3. A role's profile is its expected levels as shares of the scale, p_rc = L_rc / 4, centred on the
 *    role's own mean over all competencies: e_rc = p_rc - mean(p_r). Centring is what makes the score
 *    about shape: with every competency answered, raising every affinity by the same amount moves no
 *    role, so a general liking for everything favours no role. With some left out it moves each role
 *    by its centred levels summed over the answered ones, which is why answers that give every
 *    answered competency the same affinity are flagged as straight-lining and recommend nothing.
 * 4. S_r = sum over answered c of (a_c - 1/2) * e_rc, and fit_r = 50 + 50 * S_r / M, where M is the
 *    largest S any role could reach with these questions answered, so fit stays within 0..100 and all
 *    roles share one scale.
 *
 * 5. The recommendation's confidence follows the margin between the two best fits, less the part of
 *    it the answers' general lean makes with some items skipped (the response style, README step 7).
 *
 * Because the fit difference of two roles is linear in each affinity with slope proportional to
 * (L_Ak - L_Bk) - (mean L_A - mean L_B), agreeing more with an item of a competency that role A
 * expects two or more levels above role B never lowers A's fit relative to B's, provided the roles'
 * mean levels differ by at most MAX_MEAN_LEVEL_GAP (the content loader enforces it).
 */

/**
 * shape-1.1: a straight-lined result has no highlights, as it has no recommendation (shape-1.0 named
 * the competencies that moved its gap most, which identical answers say nothing about). Fits,
 * margins and breakdowns are as in shape-1.0.
 * shape-1.2: answers that are all alike once reverse-keyed items are reversed (5 to every plain item
 * and 1 to every reverse-keyed one, say) are straight-lining too. They give every answered competency
 * the same affinity, so whatever gap the fits show comes from which competencies were left out, not
 * from a preference; shape-1.1 could call such a result clear. Fits, margins and breakdowns are as before.
 * shape-1.3: any answers that give every answered competency the same affinity are straight-lining,
 * not only those alike once keyed: 5 to every plain item and 3 to every reverse-keyed one gives each
 * competency 3/4, which states no preference either, and shape-1.2 could call it clear with some
 * competencies left out. Fits, margins and breakdowns are as before.
 * shape-1.4: with questions left out, a confidence counts only the part of the gap the answers'
 * pattern makes, not the part their overall lean makes (response-style): answers a step away from
 * alike, with a few items skipped, could still be called clear on a gap that came from the skipped
 * items. Fits, margins and breakdowns are as before; with every question answered nothing changes.
 * shape-1.5: a value exactly halfway between two hundredths is rounded away from zero (a fit of
 * 29.125 is 29.13, a contribution of −0.625 is −0.63). shape-1.4 rounded halves as floating-point
 * error left them (a fit of 29.125 came out 29.12, one of 59.375 59.38): of 50,000 random answer sets
 * on release 2026.12.7, 317 results have a value rounded the other way, 19 of them a fit and the
 * margin. Nothing else changes.
 * shape-1.6: highlights that moved the gap exactly as much are taken in slug order. shape-1.5 compared
 * their sizes as floating point left them, so the order of two equal highlights, and which of equal
 * ones made the three, came from rounding error: of 100,000 random answer sets on release 2026.12.9,
 * 0.91% with every question answered and 3.78% with about 60% answered. Nothing else changes.
 * shape-1.7: answers that contradict themselves are flagged inconsistent and called lean at most: a
 * competency's plain and reverse-keyed items, once keyed, landing 1.25 steps apart on average over
 * 5 or more competencies with both answered. Of 100,000 sets of answers drawn at random on release
 * 2026.12.9, shape-1.6 called about 12.4% clear, shape-1.7 about 1.4%. Fits, margins, breakdowns and
 * highlights are as before.
 */
export const SCORING_VERSION = 'shape-1.7';
export const MIN_ANSWERS = 8;
export const COMPLETE_SHARE = 0.8;
/** The largest difference of two roles' mean levels that keeps the monotonicity guarantee (with margin). */
export const MAX_MEAN_LEVEL_GAP = 1.5;
/** Fit-point margins between the best and the second role. */
export const CONFIDENCE_THRESHOLDS = { clear: 15, lean: 5 } as const;

export const CONFIDENCES = ['clear', 'lean', 'too-close-to-call'] as const;
export type Confidence = (typeof CONFIDENCES)[number];
/**
 * When answers contradict themselves (README step 6): the mean distance, in 0..1, between a
 * competency's plain and reverse-keyed answers once keyed, over at least `minPairs` competencies with
 * both answered. 0.3125 is 1.25 steps of the scale. Both come from a simulation (README step 6):
 * answers drawn at random reach the threshold in 91.6% of sets with every question answered; a
 * respondent who answers each item from one view of its competency, with a normal error of 0.75
 * steps, in about one set in 1,500, one in 185 with 14 pairs (the fewest a complete submission has)
 * and one in 22 with 5 to 8, but one in 7 with 3 or 4 pairs, hence the minimum of 5.
 */
export const INCONSISTENCY = { threshold: 0.3125, minPairs: 5 } as const;

export const FLAGS = ['incomplete', 'straight-lining', 'inconsistent', 'response-style'] as const;
export type Flag = (typeof FLAGS)[number];

export type ScoringInput = {
  questions: readonly { id: string; competency: string; keyed: 'plus' | 'minus' }[];
  competencies: readonly { slug: string; name: string }[];
  roles: readonly { slug: string; name: string }[];
  /** Expected level of a competency for a role, at the company size being scored. */
  level: (role: string, competency: string) => number;
  answers: readonly { questionId: string; value: number }[];
};

export type CompetencyBreakdown = {
  competency: string;
  name: string;
  answered: number;
  /** 0..1, null when no item of the competency was answered. */
  affinity: number | null;
  /** The same frozen list in every result of a model: it depends on the company size alone. */
  expected: readonly Readonly<{ role: string; level: number }>[];
  /** Fit points this competency added to (or took from) each role. */
  contributions: { role: string; points: number }[];
};

export type Highlight = { competency: string; name: string; favours: string; points: number; reason: string };

export type ScoredResult = {
  scores: { role: string; name: string; fit: number }[];
  recommendation: { role: string | null; confidence: Confidence; margin: number };
  breakdown: CompetencyBreakdown[];
  highlights: Highlight[];
  flags: Flag[];
  answered: { count: number; total: number };
};

const confidenceOf = (margin: number): Confidence =>
  margin >= CONFIDENCE_THRESHOLDS.clear ? 'clear' : margin >= CONFIDENCE_THRESHOLDS.lean ? 'lean' : 'too-close-to-call';

/**
 * How near a half a scaled value may be and still be taken as that exact half. The values rounded
 * are fractions with small denominators (levels are whole, affinities eighths), so one that is not a
 * half in truth stays far from one: over 50,000 random results on the seed, none came within 1e-4 of
 * a half once scaled, while the error of summing a few dozen doubles stayed under 2e-12. A half that
 * the sum put just below is rounded as the half it is.
 */
const HALF_TOLERANCE = 1e-9;

/** Rounds to `decimals` places, an exact half away from zero (29.125 is 29.13, −0.625 is −0.63). */
const round = (value: number, decimals: number) => {
  const factor = 10 ** decimals;
  const scaled = Math.abs(value) * factor;
  const whole = Math.floor(scaled);
  const magnitude = scaled - whole >= 0.5 - HALF_TOLERANCE ? whole + 1 : whole;
  return (value < 0 && magnitude > 0 ? -magnitude : magnitude) / factor;
};

/** Scores answers against the input's questions and levels (see ScoringModel). */
export function score(input: ScoringInput): ScoredResult {
  return new ScoringModel(input).score(input.answers);
}

type ModelCompetency = { slug: string; name: string; index: number };

/**
 * Everything in a score that does not depend on the answers: the questions' competencies and
 * keying, and each role's levels and centred profile (step 3). Built once per release and company
 * size, so that scoring a submission only sums its answers.
 */
export class ScoringModel {
  private readonly questionById: ReadonlyMap<string, { index: number; competency: number; minus: boolean }>;
  private readonly competencies: readonly ModelCompetency[];
  private readonly roles: readonly { slug: string; name: string }[];
  /** levels[r][c] and centred[r][c] (e_rc), by role and competency index. */
  private readonly levels: readonly (readonly number[])[];
  private readonly centred: readonly (readonly number[])[];
  /** Each competency's expected levels as a result lists them, by competency index. */
  private readonly expected: CompetencyBreakdown['expected'][];
  private readonly questionCount: number;

  constructor(input: Omit<ScoringInput, 'answers'>) {
    for (const [kind, keys] of [
      ['role', input.roles.map((r) => r.slug)],
      ['competency', input.competencies.map((c) => c.slug)],
      ['question', input.questions.map((q) => q.id)],
    ] as const) {
      if (new Set(keys).size !== keys.length) throw new RangeError(`Each ${kind} must appear once`);
    }
    this.competencies = input.competencies.map((c, index) => ({ slug: c.slug, name: c.name, index }));
    const indexOf = new Map(this.competencies.map((c) => [c.slug, c.index]));
    const questionById = new Map<string, { index: number; competency: number; minus: boolean }>();
    for (const q of input.questions) {
      // A question of a competency outside the list moves no affinity, fit or straight-lining check, as
      // when its affinity was never read; it still counts as answered.
      questionById.set(q.id, { index: questionById.size, competency: indexOf.get(q.competency) ?? -1, minus: q.keyed === 'minus' });
    }
    this.questionById = questionById;
    this.questionCount = input.questions.length;
    this.roles = input.roles;
    this.levels = input.roles.map((role) => input.competencies.map((c) => input.level(role.slug, c.slug)));
    this.centred = this.levels.map((row) => {
      const shares = row.map((level) => level / MAX_LEVEL);
      const mean = shares.reduce((sum, s) => sum + s, 0) / shares.length;
      return shares.map((s) => s - mean);
    });
    this.expected = this.competencies.map((c) =>
      Object.freeze(this.roles.map((role, r) => Object.freeze({ role: role.slug, level: this.levels[r]?.[c.index] as number }))),
    );
  }

  score(answers: ScoringInput['answers']): ScoredResult {
    const { competencies, roles, levels, centred, expected } = this;

    // Steps 1 and 2: affinity per competency.
    const totals = new Array<number>(competencies.length).fill(0);
    const counts = new Array<number>(competencies.length).fill(0);
    // The plain items' share of each competency's answers, for the response style (README step 7).
    const plusTotals = new Array<number>(competencies.length).fill(0);
    const plusCounts = new Array<number>(competencies.length).fill(0);
    // Whether every answer is alike as given: it states no preference.
    let alikeAsGiven = true;
    let firstValue = 0;
    // The API checks a submission before it is scored; a caller of its own is held to the same.
    const seen = new Uint8Array(this.questionCount);
    for (const answer of answers) {
      const question = this.questionById.get(answer.questionId);
      if (!question) throw new RangeError(`Unknown question ${answer.questionId}`);
      if (!Number.isInteger(answer.value) || answer.value < 1 || answer.value > 5) {
        throw new RangeError(`The answer to ${answer.questionId} must be a whole number from 1 to 5`);
      }
      if (seen[question.index] === 1) throw new RangeError(`Question ${answer.questionId} is answered more than once`);
      seen[question.index] = 1;
      if (question.competency < 0) continue;
      const keyed = question.minus ? 6 - answer.value : answer.value;
      if (firstValue === 0) firstValue = answer.value;
      else alikeAsGiven &&= answer.value === firstValue;
      totals[question.competency] = (totals[question.competency] as number) + (keyed - 1) / 4;
      counts[question.competency] = (counts[question.competency] as number) + 1;
      if (!question.minus) {
        plusTotals[question.competency] = (plusTotals[question.competency] as number) + (keyed - 1) / 4;
        plusCounts[question.competency] = (plusCounts[question.competency] as number) + 1;
      }
    }
    const affinities = competencies.map((c) =>
      (counts[c.index] as number) > 0 ? (totals[c.index] as number) / (counts[c.index] as number) : null,
    );
    // Nor does one affinity shared by every answered competency (answers alike once keyed among them).
    // Each is a mean of quarters over a few items, so equal means compare exactly.
    const answeredAffinities = affinities.filter((a) => a !== null);
    const alikeAffinities = answeredAffinities.every((a) => a === answeredAffinities[0]);

    // Step 4: a shared scale M, then fits.
    const answered = competencies.filter((c) => (counts[c.index] as number) > 0);
    let scale = Number.EPSILON;
    for (const e of centred) {
      let reach = 0;
      for (const c of answered) reach += Math.abs(e[c.index] as number) / 2;
      if (reach > scale) scale = reach;
    }
    // points[r][c]: the fit points competency c moved for role r (0 when unanswered).
    const points = centred.map((e) =>
      competencies.map((c) => {
        const a = affinities[c.index] as number | null;
        return a === null ? 0 : (50 * (a - 0.5) * (e[c.index] as number)) / scale;
      }),
    );

    const scores = roles
      .map((role, r) => {
        let sum = 0;
        for (const c of answered) sum += points[r]?.[c.index] as number;
        return { role: role.slug, name: role.name, fit: round(50 + sum, 2), order: r };
      })
      .sort((x, y) => y.fit - x.fit || x.order - y.order);

    // Where a competency has both keyings answered, how its plain answers stand to its reverse-keyed
    // ones once keyed: signed, the agreement with every statement whatever its keying (README step 7);
    // unsigned, how far the answers contradict each other (step 6).
    let [agreement, contradiction, pairs, keyedSum, itemCount, plusMinusGap] = [0, 0, 0, 0, 0, 0];
    for (const c of answered) {
      const n = counts[c.index] as number;
      const plus = plusCounts[c.index] as number;
      keyedSum += totals[c.index] as number;
      itemCount += n;
      plusMinusGap += 2 * plus - n;
      if (plus > 0 && plus < n) {
        const minusTotal = (totals[c.index] as number) - (plusTotals[c.index] as number);
        const gap = (plusTotals[c.index] as number) / plus - minusTotal / (n - plus);
        agreement += gap / 2;
        contradiction += Math.abs(gap);
        pairs++;
      }
    }
    if (pairs > 0) agreement /= pairs;

    const flags: Flag[] = [];
    if (answers.length < COMPLETE_SHARE * this.questionCount) flags.push('incomplete');
    if (firstValue !== 0 && (alikeAsGiven || alikeAffinities)) flags.push('straight-lining');
    // Keyed answers are quarters, so with one item of each keying the sum is exact; the 1e-9 keeps
    // means over more items (thirds, say) from falling a rounding error short.
    if (pairs >= INCONSISTENCY.minPairs && contradiction >= (INCONSISTENCY.threshold - 1e-9) * pairs) flags.push('inconsistent');

    const [best, second] = scores;
    const margin = best && second ? round(best.fit - second.fit, 2) : 0;
    let confidence = confidenceOf(margin);
    const straightLined = flags.includes('straight-lining');
    if (straightLined) confidence = 'too-close-to-call';
    else if ((flags.includes('incomplete') || flags.includes('inconsistent')) && confidence === 'clear') confidence = 'lean';
    if (!straightLined && best && second) {
      // README step 7: the gap the answers would make from their style alone, a lean shared by every
      // competency (lean) and agreement with every statement whatever its keying (agreement, above).
      // With every question answered that gap is 0; with some left out it is what that style makes of
      // the items skipped, so the confidence counts only the rest of the margin.
      const lean = keyedSum / itemCount - (agreement * plusMinusGap) / itemCount;
      const [eBest, eSecond] = [centred[best.order] as readonly number[], centred[second.order] as readonly number[]];
      let styleGap = 0;
      for (const c of answered) {
        const n = counts[c.index] as number;
        const styleAffinity = lean + (agreement * (2 * (plusCounts[c.index] as number) - n)) / n;
        styleGap += (50 * (styleAffinity - 0.5) * ((eBest[c.index] as number) - (eSecond[c.index] as number))) / scale;
      }
      const patternConfidence = confidenceOf(round(margin - round(styleGap, 2), 2));
      if (CONFIDENCES.indexOf(patternConfidence) > CONFIDENCES.indexOf(confidence)) {
        confidence = patternConfidence;
        flags.push('response-style');
      }
    }
    const recommendation = { role: confidence === 'too-close-to-call' ? null : (best?.role ?? null), confidence, margin };

    const breakdown: CompetencyBreakdown[] = competencies.map((c) => {
      const a = affinities[c.index] as number | null;
      return {
        competency: c.slug,
        name: c.name,
        answered: counts[c.index] as number,
        affinity: a === null ? null : round(a, 4),
        expected: expected[c.index] as CompetencyBreakdown['expected'],
        contributions: roles.map((role, r) => ({ role: role.slug, points: round(points[r]?.[c.index] as number, 2) })),
      };
    });

    return {
      scores: scores.map(({ role, name, fit }) => ({ role, name, fit })),
      recommendation,
      breakdown,
      highlights:
        best && second && !straightLined ? highlightsBetween([best.order, second.order], answered, roles, levels, points, affinities) : [],
      flags,
      answered: { count: answers.length, total: this.questionCount },
    };
  }
}

type Gap = { c: ModelCompetency; gap: number };

/**
 * The larger gap first, and of equal ones the first slug. Two gaps equal in exact arithmetic can
 * differ in their last bits, so they are compared with a tolerance; distinct gaps differ by far more
 * (about 0.02 points at least: affinities are eighths and levels whole numbers). Rounding both to a
 * grid would not do: equal gaps either side of a half step would still round apart.
 */
const largerGapFirst = (x: Gap, y: Gap) => {
  const larger = Math.abs(y.gap) - Math.abs(x.gap);
  return Math.abs(larger) > 1e-9 ? larger : x.c.slug.localeCompare(y.c.slug);
};

/** The three competencies that moved the gap between the two best roles (by index) most, in plain words. */
function highlightsBetween(
  [best, second]: readonly [number, number],
  answered: readonly ModelCompetency[],
  roles: readonly { slug: string; name: string }[],
  levels: readonly (readonly number[])[],
  points: readonly (readonly number[])[],
  affinities: readonly (number | null)[],
): Highlight[] {
  const at = (table: readonly (readonly number[])[], r: number, c: ModelCompetency) => table[r]?.[c.index] as number;
  return answered
    .map((c) => ({ c, gap: at(points, best, c) - at(points, second, c) }))
    .filter(({ gap }) => Math.abs(gap) >= 0.005)
    .sort(largerGapFirst)
    .slice(0, 3)
    .map(({ c, gap }) => {
      const [favours, other] = gap > 0 ? [best, second] : [second, best];
      const nameOf = (r: number) => roles[r]?.name;
      const a = affinities[c.index] ?? 0.5;
      const feeling = a >= 0.5 ? 'You are drawn to' : 'You would rather avoid';
      const [lf, lo] = [at(levels, favours, c), at(levels, other, c)];
      // At equal levels it weighs more where it counts more: toward the favoured role for a competency
      // the respondent is drawn to, against the other one for a competency they would avoid.
      const comparison =
        lf === lo
          ? `which both roles expect at the same level (${LEVEL_NAMES[lf]}), but it weighs more in the ${nameOf(a >= 0.5 ? favours : other)} profile`
          : `which the ${nameOf(lf > lo ? favours : other)} role expects more (${LEVEL_NAMES[Math.max(lf, lo)]}) than the ${nameOf(lf > lo ? other : favours)} role (${LEVEL_NAMES[Math.min(lf, lo)]})`;
      return {
        competency: c.slug,
        name: c.name,
        favours: roles[favours]?.slug as string,
        points: round(Math.abs(gap), 2),
        reason: `${feeling} ${c.name.toLowerCase()}, ${comparison}.`,
      };
    });
}
