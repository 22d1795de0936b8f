import type { AssessmentRecord } from '../db/repository.js';
import type { AssessmentResult } from '../domain/assessment.js';

/**
 * JSON text of assessments, written field by field for their one known shape. It is the same text
 * JSON.stringify gives (test/assessment-json.test.ts compares the two), at a fraction of the cost:
 * the result is most of the work of storing a submission.
 */

/** Names, slugs and labels repeat in every result: each is quoted once. */
const quotedCache = new Map<string, string>();
const MAX_CACHED = 10_000;

function quoted(text: string): string {
  let json = quotedCache.get(text);
  if (json === undefined) {
    json = JSON.stringify(text);
    if (quotedCache.size < MAX_CACHED) quotedCache.set(text, json);
  }
  return json;
}

const nullable = (text: string | null) => (text === null ? 'null' : quoted(text));

/** A number as JSON.stringify writes it (a non-finite one is null). */
const num = (value: number) => (Number.isFinite(value) ? `${value}` : 'null');

const SCALES = [1, 10, 100, 1000, 10_000];

/**
 * A number the scoring rounded to `decimals` places, as JSON.stringify writes it, from integer
 * digits: about three times faster than formatting the double. A value with more places than that,
 * or a very large one (the scoring gives neither), is written by `num`, so the text is always exact.
 */
function rounded(value: number, decimals: 2 | 4): string {
  const scale = SCALES[decimals] as number;
  const scaled = Math.round(value * scale);
  // Below 1e9 digits a double has room to spare for `decimals` places, so the shortest text that
  // reads back as the value is exactly these digits.
  if (scaled / scale !== value || !(Math.abs(scaled) < 1e9)) return num(value);
  const sign = scaled < 0 ? '-' : '';
  const magnitude = scaled < 0 ? -scaled : scaled;
  const whole = Math.floor(magnitude / scale);
  let fraction = magnitude - whole * scale;
  if (fraction === 0) return `${sign}${whole}`;
  let places = decimals;
  while (fraction % 10 === 0) {
    fraction /= 10;
    places -= 1;
  }
  let digits = `${fraction}`;
  while (digits.length < places) digits = `0${digits}`;
  return `${sign}${whole}.${digits}`;
}

/** The answers as submitted, in their order. */
export function answersJson(answers: readonly { questionId: string; value: number }[]): string {
  let out = '[';
  for (let i = 0; i < answers.length; i++) {
    const answer = answers[i] as { questionId: string; value: number };
    out += `${i === 0 ? '' : ','}{"questionId":${quoted(answer.questionId)},"value":${num(answer.value)}}`;
  }
  return `${out}]`;
}

const list = <T>(items: readonly T[], write: (item: T) => string) => {
  let out = '[';
  for (let i = 0; i < items.length; i++) out += (i === 0 ? '' : ',') + write(items[i] as T);
  return `${out}]`;
};

/**
 * JSON of lists that can never change: frozen, and holding only frozen items. A scoring model hands
 * the same such list of expected levels to every result, so each is written once.
 */
const frozenListJson = new WeakMap<object, string>();

function constantList<T extends object>(items: readonly T[], write: (item: T) => string): string {
  const cached = frozenListJson.get(items);
  if (cached !== undefined) return cached;
  if (!Object.isFrozen(items) || !items.every((item) => Object.isFrozen(item))) return list(items, write);
  // join() gives one flat string: a document copies it whole instead of walking its pieces.
  const json = ['[', items.map(write).join(','), ']'].join('');
  frozenListJson.set(items, json);
  return json;
}

/** A scored result; its keys in the order assess() builds them. */
export function resultJson(result: AssessmentResult): string {
  const { recommendation: rec, answered, versions } = result;
  return (
    `{"companySize":${nullable(result.companySize)}` +
    `,"scores":${list(result.scores, (s) => `{"role":${quoted(s.role)},"name":${quoted(s.name)},"fit":${rounded(s.fit, 2)}}`)}` +
    `,"recommendation":{"role":${nullable(rec.role)},"confidence":${quoted(rec.confidence)},"margin":${rounded(rec.margin, 2)}}` +
    `,"breakdown":${list(
      result.breakdown,
      (b) =>
        `{"competency":${quoted(b.competency)},"name":${quoted(b.name)},"answered":${num(b.answered)}` +
        `,"affinity":${b.affinity === null ? 'null' : rounded(b.affinity, 4)}` +
        `,"expected":${constantList(b.expected, (e) => `{"role":${quoted(e.role)},"level":${num(e.level)}}`)}` +
        `,"contributions":${list(b.contributions, (c) => `{"role":${quoted(c.role)},"points":${rounded(c.points, 2)}}`)}}`,
    )}` +
    `,"highlights":${list(
      result.highlights,
      (h) =>
        `{"competency":${quoted(h.competency)},"name":${quoted(h.name)},"favours":${quoted(h.favours)}` +
        `,"points":${rounded(h.points, 2)},"reason":${JSON.stringify(h.reason)}}`,
    )}` +
    `,"flags":${list(result.flags, quoted)}` +
    `,"answered":{"count":${num(answered.count)},"total":${num(answered.total)}}` +
    `,"versions":{"instrument":${quoted(versions.instrument)},"scoring":${quoted(versions.scoring)},"kbRelease":${quoted(versions.kbRelease)}` +
    `,"kbContentHash":${quoted(versions.kbContentHash)}}` +
    `,"intendedUse":${quoted(result.intendedUse)}}`
  );
}

export type AssessmentParts = Pick<AssessmentRecord, 'id' | 'createdAt' | 'companySize' | 'respondent'> & {
  /** JSON text of the answers, as submitted. */
  answers: string;
  /** JSON text of the result, as scored. */
  result: string;
};

/**
 * The JSON text of an assessment, spliced from JSON parts without reparsing them. The Idempotency-Key
 * it came with is written when given (null for none); rows stored before documents were kept are
 * read back without it, as they were first sent.
 */
export function assessmentJson(parts: AssessmentParts, idempotencyKey?: string | null): string {
  return (
    `{"id":${JSON.stringify(parts.id)},"createdAt":${JSON.stringify(parts.createdAt)},` +
    `"companySize":${JSON.stringify(parts.companySize)},"respondent":${JSON.stringify(parts.respondent)},` +
    (idempotencyKey === undefined ? '' : `"idempotencyKey":${JSON.stringify(idempotencyKey)},`) +
    `"answers":${parts.answers},"result":${parts.result}}`
  );
}
