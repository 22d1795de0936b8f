// Checking a submission body before it is scored: the boundary between the JSON a client sends
// and the domain's CheckedSubmission, with every problem listed at once.

import type { KnowledgeBase } from '../domain/knowledge-base.js';
import { MIN_ANSWERS } from '../domain/scoring.js';
import { type FieldProblem, fieldPath, quoted, type SubmissionFault, slugHint, unknownValue, unknownValueProblem } from '../errors.js';
import { didYouMean, knownNames, meantName, unknownNameMessage } from '../names.js';
import {
  LONE_SURROGATE,
  MAX_ANSWERS,
  MAX_QUESTION_ID_LENGTH,
  MAX_RESPONDENT_LENGTH,
  Submission,
  type SubmissionInput,
} from '../schemas/assessment.js';
import { REQUIRED } from '../schemas/messages.js';

export type SubmissionCheck = { ok: true; submission: SubmissionInput } | { ok: false; fault: SubmissionFault; errors: FieldProblem[] };

/** Unknown question ids of one body that are told the id they were likely meant as; the rest are only named. */
const MAX_SUGGESTED_QUESTIONS = 10;

/** Where an unknown question id told of no id it was likely meant as can find the right ones. */
const QUESTIONS_ARE_LISTED = '; the question ids are listed by GET /v1/assessment/questions';

const SUBMISSION_FIELDS = new Set(['answers', 'companySize', 'respondent']);

/**
 * A batch's envelope sent to a submission's route, or a submission sent to the batch route: told
 * where it goes, as no name a letter or two away can tell it.
 */
const BATCH_ELSEWHERE = 'unknown field; a batch ({ "items": [...] }) goes to POST /v1/assessments/batch';
const SUBMISSION_ELSEWHERE =
  'unknown field; a submission\'s fields go inside items ({ "items": [submission, ...] }), or to POST /v1/assessments for one';

/** The `questionId` of an answer in a body that may be malformed: undefined when it has none. */
const questionIdOf = (answer: unknown): unknown => (answer as { questionId?: unknown } | null)?.questionId;

/** An object with no inherited fields, as JSON.parse makes them. */
const isRecord = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/**
 * The submission a valid body parses to, or undefined when the body is anything but a plainly
 * valid one. Most submissions are valid, and this accepts them for a tenth of the schema's cost;
 * it accepts nothing the schema and the checks below would refuse (test/submission-check.test.ts
 * compares the two), and whatever it does not accept goes through them for its list of problems.
 */
export function quickCheck(kb: KnowledgeBase, raw: unknown): SubmissionInput | undefined {
  if (!isRecord(raw)) return;
  for (const key of Object.keys(raw)) if (!SUBMISSION_FIELDS.has(key)) return;
  const { answers, companySize, respondent } = raw;
  if (!Array.isArray(answers) || answers.length < MIN_ANSWERS || answers.length > MAX_ANSWERS) return;
  if (companySize != null && (typeof companySize !== 'string' || !kb.companySizeBySlug.has(companySize))) return;
  let label: string | null | undefined = respondent === null ? null : undefined;
  if (respondent != null) {
    if (typeof respondent !== 'string') return;
    label = respondent.trim();
    if (label.length === 0 || label.length > MAX_RESPONDENT_LENGTH || LONE_SURROGATE.test(label)) return;
  }
  const seen = new Set<string>();
  const checked: { questionId: string; value: number }[] = [];
  for (const answer of answers as unknown[]) {
    if (!isRecord(answer) || Object.keys(answer).length !== 2) return;
    const { questionId, value } = answer;
    if (typeof questionId !== 'string' || questionId.length > MAX_QUESTION_ID_LENGTH) return;
    if (!kb.questionById.has(questionId) || seen.has(questionId)) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 5) return;
    seen.add(questionId);
    checked.push({ questionId, value });
  }
  // As the schema parses it: its fields in order, one given as undefined kept as undefined.
  const submission: SubmissionInput = { answers: checked };
  if ('companySize' in raw) submission.companySize = companySize as string | null | undefined;
  if ('respondent' in raw) submission.respondent = label;
  return submission;
}

/**
 * Checks a submission completely and lists every problem at once: malformed input (wrong types,
 * values outside 1..5, unknown fields) is a 400; well-formed input that cannot be scored (unknown
 * question or company size, a question answered twice, too few answers) is a 422.
 */
export function checkSubmission(kb: KnowledgeBase, raw: unknown, prefix = 'body'): SubmissionCheck {
  const submission = quickCheck(kb, raw);
  return submission ? { ok: true, submission } : checkThoroughly(kb, raw, prefix);
}

/** The problems without repeats: two checks that fail one field for one reason (a bound, and the range it is part of) are one problem. */
function distinct(problems: FieldProblem[]): FieldProblem[] {
  if (problems.length < 2) return problems;
  const seen = new Set<string>();
  return problems.filter(({ field, message }) => {
    const key = `${field}\n${message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** checkSubmission without the quick path: the schema, then the checks against the knowledge base. */
export function checkThoroughly(kb: KnowledgeBase, raw: unknown, prefix = 'body'): SubmissionCheck {
  const parsed = Submission.safeParse(raw);
  // A body can repeat a few made-up fields in each of thousands of answers: each is matched against
  // the declared names once.
  const messages = new Map<string, string>();
  const unknownField = (key: string, path: readonly PropertyKey[]) => {
    if (key === 'items' && path.length === 0 && prefix === 'body') return BATCH_ELSEWHERE;
    const known = knownNames(Submission, path);
    const id = `${known.join(',')}:${key}`;
    let message = messages.get(id);
    if (message === undefined) {
      message = unknownNameMessage('field', key, known);
      messages.set(id, message);
    }
    return message;
  };
  const companySizeHint = (path: readonly PropertyKey[], message: string) =>
    path.length === 1 && path[0] === 'companySize'
      ? slugHint(message, (raw as { companySize?: unknown }).companySize, kb.companySizeBySlug)
      : message;
  const malformed: FieldProblem[] = parsed.success
    ? []
    : distinct(
        parsed.error.issues.flatMap((issue) =>
          // Each unknown field is named on its own, as the batch envelope and the query names them.
          issue.code === 'unrecognized_keys'
            ? issue.keys.map((key) => ({ field: fieldPath(prefix, [...issue.path, key]), message: unknownField(key, issue.path) }))
            : [{ field: fieldPath(prefix, issue.path), message: companySizeHint(issue.path, issue.message) }],
        ),
      );

  // Look at whatever parts are well-formed, so that both kinds of problem are reported together.
  const unacceptable: FieldProblem[] = [];
  const body = (typeof raw === 'object' && raw !== null ? raw : {}) as { answers?: unknown; companySize?: unknown };
  const answers = Array.isArray(body.answers) ? body.answers : [];
  const seen = new Set<string>();
  let usable = 0;
  // The id an unknown one was likely meant as, for the first few of a body: a body of thousands of
  // made-up ids costs no more than a few comparisons with the questions. Only ids the body leaves
  // unanswered are suggested: taking one it answers elsewhere would answer that question twice.
  let suggested = 0;
  let unanswered: string[] | undefined;
  const unknownQuestion = (questionId: string) => {
    if (unanswered === undefined) {
      const answered = new Set(answers.map(questionIdOf));
      unanswered = [...kb.questionById.keys()].filter((id) => !answered.has(id));
    }
    const meant = suggested++ < MAX_SUGGESTED_QUESTIONS ? meantName(questionId, unanswered) : undefined;
    return `unknown question "${quoted(questionId)}"${meant === undefined ? QUESTIONS_ARE_LISTED : didYouMean(meant)}`;
  };
  answers.forEach((answer: unknown, i) => {
    const questionId = questionIdOf(answer);
    if (typeof questionId !== 'string') return;
    if (!kb.questionById.has(questionId)) {
      unacceptable.push({ field: `${prefix}.answers[${i}].questionId`, message: unknownQuestion(questionId) });
    } else if (seen.has(questionId)) {
      unacceptable.push({ field: `${prefix}.answers[${i}].questionId`, message: `question "${questionId}" is answered more than once` });
    } else {
      seen.add(questionId);
      usable += 1;
    }
  });
  if (Array.isArray(body.answers) && usable < MIN_ANSWERS) {
    // The answers named above (an unknown id, a repeat) are said to be left out of the count, so that
    // one typo reads as one mistake.
    const named = unacceptable.length;
    const without = named === 0 ? '' : `, not counting the ${named === 1 ? 'answer' : `${named} answers`} named above`;
    unacceptable.push({
      field: `${prefix}.answers`,
      message: `needs at least ${MIN_ANSWERS} answers to distinct known questions (got ${usable}${without})`,
    });
  }
  if (typeof body.companySize === 'string' && !kb.companySizeBySlug.has(body.companySize)) {
    unacceptable.push(unknownValueProblem(unknownValue(kb.companySizeBySlug, 'company size', body.companySize, `${prefix}.companySize`)));
  }

  if (malformed.length > 0) {
    // A field that is malformed gets that one problem, not also the lookup's ("unknown ...").
    const named = new Set(malformed.map((m) => m.field));
    return { ok: false, fault: 'malformed', errors: [...malformed, ...unacceptable.filter((u) => !named.has(u.field))] };
  }
  if (unacceptable.length > 0 || !parsed.success) return { ok: false, fault: 'unscorable', errors: unacceptable };
  return { ok: true, submission: parsed.data };
}

/**
 * The submissions of a batch body, or every problem of its envelope: it must be `{ "items": [...] }`
 * with 1 to `max` items and no other field. The items themselves are checked one by one later.
 */
export function batchItems(raw: unknown, max: number): { ok: true; items: unknown[] } | { ok: false; errors: FieldProblem[] } {
  if (!isRecord(raw)) return { ok: false, errors: [{ field: 'body', message: 'must be an object' }] };
  const errors: FieldProblem[] = [];
  const { items } = raw;
  if (items === undefined) errors.push({ field: 'body.items', message: REQUIRED });
  else if (!Array.isArray(items)) errors.push({ field: 'body.items', message: 'must be an array' });
  else if (items.length === 0 || items.length > max) {
    errors.push({ field: 'body.items', message: `must hold 1 to ${max} items (got ${items.length})` });
  }
  for (const key of Object.keys(raw)) {
    if (key === 'items') continue;
    const message = SUBMISSION_FIELDS.has(key) ? SUBMISSION_ELSEWHERE : unknownNameMessage('field', key, ['items']);
    errors.push({ field: fieldPath('body', [key]), message });
  }
  return errors.length === 0 ? { ok: true, items: items as unknown[] } : { ok: false, errors };
}
