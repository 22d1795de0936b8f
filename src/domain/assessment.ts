import type { KnowledgeBase } from './knowledge-base.js';
import { SCORING_VERSION, ScoringModel } from './scoring.js';

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

/**
 * A submission once checked: every question is known and answered once with a value of 1 to 5,
 * the company size (if any) is known, and the respondent label is trimmed.
 */
export type CheckedSubmission = {
  answers: readonly { questionId: string; value: number }[];
  companySize?: string | null | undefined;
  respondent?: string | null | undefined;
};

/** Scoring models per knowledge-base release and company size ('' = baseline), built on first use. */
const models = new WeakMap<KnowledgeBase, Map<string, ScoringModel>>();

function modelFor(kb: KnowledgeBase, companySize: string | null): ScoringModel {
  let bySize = models.get(kb);
  if (!bySize) {
    bySize = new Map();
    models.set(kb, bySize);
  }
  let model = bySize.get(companySize ?? '');
  if (!model) {
    model = new ScoringModel({
      questions: kb.data.questions,
      competencies: kb.data.competencies,
      roles: kb.data.roles,
      // Read once, as the model is built; a level missing from the release throws here.
      level: (role, competency) => kb.levelAt(role, competency, companySize),
    });
    bySize.set(companySize ?? '', model);
  }
  return model;
}

/** Scores a checked submission against the knowledge base, stamping the versions used. */
export function assess(kb: KnowledgeBase, submission: CheckedSubmission) {
  const companySize = submission.companySize ?? null;
  const scored = modelFor(kb, companySize).score(submission.answers);
  return {
    companySize,
    ...scored,
    versions: {
      instrument: kb.release.instrumentVersion,
      scoring: SCORING_VERSION,
      kbRelease: kb.release.id,
      kbContentHash: kb.release.contentHash,
    },
    intendedUse: INTENDED_USE,
  };
}

export type AssessmentResult = ReturnType<typeof assess>;
