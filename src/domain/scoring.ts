import { MAX_LEVEL } from './knowledge-base.js';

/**
 * Scoring of a self-assessment against the roles' expected levels: pure and deterministic.
 *
 * 1. Each answer v (1..5) is reverse-keyed when the item is (v' = 6 - v) and mapped to 0..1. Every
 *    competency has as many reverse-keyed items as plain ones (the content loader enforces it), so
 *    answering every item alike leaves every affinity at 1/2.
 * 2. A competency's affinity a_c is the mean of its answered items.
 * 3. A role's profile is its expected levels as shares of the scale, p_rc = L_rc / 4, centred on the
 *    role's own mean over all competencies: e_rc = p_rc - mean(p_r). Centring is what makes the score
 *    about shape: raising every affinity by the same amount moves every role by the same amount (0
 *    when every competency is answered), so a general liking for everything favours no role.
 * 4. S_r = sum over answered c of (a_c - 1/2) * e_rc, and fit_r = 50 + 50 * S_r / M, where M is the
 *    largest S any role could reach with these questions answered, so fit stays within 0..100 and all
 *    roles share one scale.
 *
 * Because the fit difference of two roles is linear in each affinity with slope proportional to
 * (L_Ak - L_Bk) - (mean L_A - mean L_B), agreeing more with an item of a competency that role A
 * expects two or more levels above role B never lowers A's fit relative to B's, provided the roles'
 * mean levels differ by at most MAX_MEAN_LEVEL_GAP (the content loader enforces it).
 */

export const SCORING_VERSION = 'shape-1.0';
export const MIN_ANSWERS = 8;
export const COMPLETE_SHARE = 0.8;
/** The largest difference of two roles' mean levels that keeps the monotonicity guarantee (with margin). */
export const MAX_MEAN_LEVEL_GAP = 1.5;
/** Fit-point margins between the best and the second role. */
export const CONFIDENCE_THRESHOLDS = { clear: 15, lean: 5 } as const;

export type Confidence = 'clear' | 'lean' | 'too-close-to-call';
export type Flag = 'incomplete' | 'straight-lining';

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
  expected: { role: string; level: number }[];
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

const round = (value: number, decimals: number) => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};

const LEVEL_NAMES = ['none', 'occasional', 'regular', 'core', 'defining'] as const;

export function score(input: ScoringInput): ScoredResult {
  const { questions, competencies, roles, level, answers } = input;
  const questionById = new Map(questions.map((q) => [q.id, q]));

  // Steps 1 and 2: affinity per competency.
  const sums = new Map<string, { total: number; count: number }>();
  for (const answer of answers) {
    const question = questionById.get(answer.questionId);
    if (!question) throw new RangeError(`Unknown question ${answer.questionId}`);
    const keyed = question.keyed === 'minus' ? 6 - answer.value : answer.value;
    const entry = sums.get(question.competency) ?? { total: 0, count: 0 };
    entry.total += (keyed - 1) / 4;
    entry.count += 1;
    sums.set(question.competency, entry);
  }
  const affinity = (slug: string) => {
    const entry = sums.get(slug);
    return entry ? entry.total / entry.count : null;
  };

  // Step 3: centred role profiles.
  const centred = new Map(
    roles.map((role) => {
      const shares = competencies.map((c) => level(role.slug, c.slug) / MAX_LEVEL);
      const mean = shares.reduce((sum, s) => sum + s, 0) / shares.length;
      return [role.slug, new Map(competencies.map((c, i) => [c.slug, (shares[i] as number) - mean]))];
    }),
  );
  const e = (role: string, competency: string) => centred.get(role)?.get(competency) ?? 0;

  // Step 4: a shared scale M, then fits.
  const answeredCompetencies = competencies.filter((c) => sums.has(c.slug));
  const reach = roles.map((role) => answeredCompetencies.reduce((sum, c) => sum + Math.abs(e(role.slug, c.slug)) / 2, 0));
  const scale = Math.max(...reach, Number.EPSILON);
  const points = (role: string, competency: string) => {
    const a = affinity(competency);
    return a === null ? 0 : (50 * (a - 0.5) * e(role, competency)) / scale;
  };

  const scores = roles
    .map((role, order) => ({
      role: role.slug,
      name: role.name,
      fit: round(50 + answeredCompetencies.reduce((sum, c) => sum + points(role.slug, c.slug), 0), 2),
      order,
    }))
    .sort((x, y) => y.fit - x.fit || x.order - y.order)
    .map(({ order: _order, ...rest }) => rest);

  const flags: Flag[] = [];
  if (answers.length < COMPLETE_SHARE * questions.length) flags.push('incomplete');
  if (answers.length > 0 && answers.every((a) => a.value === answers[0]?.value)) flags.push('straight-lining');

  const [best, second] = scores;
  const margin = best && second ? round(best.fit - second.fit, 2) : 0;
  let confidence: Confidence =
    margin >= CONFIDENCE_THRESHOLDS.clear ? 'clear' : margin >= CONFIDENCE_THRESHOLDS.lean ? 'lean' : 'too-close-to-call';
  if (flags.includes('straight-lining')) confidence = 'too-close-to-call';
  else if (flags.includes('incomplete') && confidence === 'clear') confidence = 'lean';
  const recommendation = { role: confidence === 'too-close-to-call' ? null : (best?.role ?? null), confidence, margin };

  const breakdown: CompetencyBreakdown[] = competencies.map((c) => {
    const a = affinity(c.slug);
    return {
      competency: c.slug,
      name: c.name,
      answered: sums.get(c.slug)?.count ?? 0,
      affinity: a === null ? null : round(a, 4),
      expected: roles.map((role) => ({ role: role.slug, level: level(role.slug, c.slug) })),
      contributions: roles.map((role) => ({ role: role.slug, points: round(points(role.slug, c.slug), 2) })),
    };
  });

  return {
    scores,
    recommendation,
    breakdown,
    highlights: best && second ? highlightsBetween(best.role, second.role, answeredCompetencies, input, points, affinity) : [],
    flags,
    answered: { count: answers.length, total: questions.length },
  };
}

/** The three competencies that moved the gap between the two best roles most, in plain words. */
function highlightsBetween(
  best: string,
  second: string,
  answered: readonly { slug: string; name: string }[],
  input: ScoringInput,
  points: (role: string, competency: string) => number,
  affinity: (competency: string) => number | null,
): Highlight[] {
  const nameOf = new Map(input.roles.map((r) => [r.slug, r.name]));
  return answered
    .map((c) => ({ c, gap: points(best, c.slug) - points(second, c.slug) }))
    .filter(({ gap }) => Math.abs(gap) >= 0.005)
    .sort((x, y) => Math.abs(y.gap) - Math.abs(x.gap) || x.c.slug.localeCompare(y.c.slug))
    .slice(0, 3)
    .map(({ c, gap }) => {
      const favours = gap > 0 ? best : second;
      const other = favours === best ? second : best;
      const a = affinity(c.slug) ?? 0.5;
      const feeling = a >= 0.5 ? 'You are drawn to' : 'You would rather avoid';
      const [lf, lo] = [input.level(favours, c.slug), input.level(other, c.slug)];
      const comparison =
        lf === lo
          ? `which both roles expect at the same level (${LEVEL_NAMES[lf]}), but it weighs more in the ${nameOf.get(favours)} profile`
          : `which the ${nameOf.get(lf > lo ? favours : other)} role expects more (${LEVEL_NAMES[Math.max(lf, lo)]}) than the ${nameOf.get(lf > lo ? other : favours)} role (${LEVEL_NAMES[Math.min(lf, lo)]})`;
      return {
        competency: c.slug,
        name: c.name,
        favours,
        points: round(Math.abs(gap), 2),
        reason: `${feeling} ${c.name.toLowerCase()}, ${comparison}.`,
      };
    });
}
