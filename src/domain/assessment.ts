import type { FieldProblem } from '../errors.js';
import { Submission, type SubmissionInput } from '../schemas/assessment.js';
import type { KnowledgeBase } from './knowledge-base.js';
import { MIN_ANSWERS, SCORING_VERSION, score } from './scoring.js';

export const INTENDED_USE =
  'For self-reflection and career conversations about which leadership path suits what you enjoy. ' +
  'Not for hiring, promotion or performance decisions.';

export const ANSWER_SCALE = [
  { value: 1, label: 'Strongly disagree' },
  { value: 2, label: 'Disagree' },
  { value: 3, label: 'Neither agree nor disagree' },
  { value: 4, label: 'Agree' },
  { value: 5, label: 'Strongly agree' },
];

export type SubmissionCheck = { ok: true; submission: SubmissionInput } | { ok: false; status: 400 | 422; errors: FieldProblem[] };

const fieldPath = (prefix: string, path: readonly PropertyKey[]) =>
  path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : `${out}.${String(part)}`), prefix);

/**
 * Checks a submission completely and lists every problem at once: malformed input (wrong types,
 * values outside 1..5, unknown fields) is a 400; well-formed input that cannot be scored (unknown
 * question or company size, a question answered twice, too few answers) is a 422.
 */
export function checkSubmission(kb: KnowledgeBase, raw: unknown, prefix = 'body'): SubmissionCheck {
  const parsed = Submission.safeParse(raw);
  const malformed: FieldProblem[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({ field: fieldPath(prefix, issue.path), message: issue.message }));

  // Look at whatever parts are well-formed, so that both kinds of problem are reported together.
  const unacceptable: FieldProblem[] = [];
  const body = (typeof raw === 'object' && raw !== null ? raw : {}) as { answers?: unknown; companySize?: unknown };
  const answers = Array.isArray(body.answers) ? body.answers : [];
  const seen = new Set<string>();
  let usable = 0;
  answers.forEach((answer: unknown, i) => {
    const questionId = (answer as { questionId?: unknown } | null)?.questionId;
    if (typeof questionId !== 'string') return;
    if (!kb.questionById.has(questionId)) {
      unacceptable.push({ field: `${prefix}.answers[${i}].questionId`, message: `unknown question "${questionId.slice(0, 64)}"` });
    } else if (seen.has(questionId)) {
      unacceptable.push({ field: `${prefix}.answers[${i}].questionId`, message: `question "${questionId}" is answered more than once` });
    } else {
      seen.add(questionId);
      usable += 1;
    }
  });
  if (Array.isArray(body.answers) && usable < MIN_ANSWERS) {
    unacceptable.push({
      field: `${prefix}.answers`,
      message: `needs at least ${MIN_ANSWERS} answers to distinct known questions (got ${usable})`,
    });
  }
  if (typeof body.companySize === 'string' && !kb.companySizeBySlug.has(body.companySize)) {
    unacceptable.push({ field: `${prefix}.companySize`, message: `unknown company size "${body.companySize.slice(0, 64)}"` });
  }

  if (malformed.length > 0) return { ok: false, status: 400, errors: [...malformed, ...unacceptable] };
  if (unacceptable.length > 0 || !parsed.success) return { ok: false, status: 422, errors: unacceptable };
  return { ok: true, submission: parsed.data };
}

/** Scores a checked submission against the knowledge base, stamping the versions used. */
export function assess(kb: KnowledgeBase, submission: SubmissionInput) {
  const companySize = submission.companySize ?? null;
  const levels = kb.levelTable(companySize);
  const scored = score({
    questions: kb.data.questions,
    competencies: kb.data.competencies,
    roles: kb.data.roles,
    level: (role, competency) => levels[role]?.[competency] ?? 0,
    answers: submission.answers,
  });
  return {
    companySize,
    ...scored,
    versions: { instrument: kb.release.instrumentVersion, scoring: SCORING_VERSION, kbRelease: kb.release.id },
    intendedUse: INTENDED_USE,
  };
}

export type AssessmentResult = ReturnType<typeof assess>;
