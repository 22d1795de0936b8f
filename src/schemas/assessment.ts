import { z } from 'zod';
import { KEYINGS } from '../domain/knowledge-base.js';
import { CONFIDENCES, FLAGS, INCONSISTENCY, MIN_ANSWERS } from '../domain/scoring.js';
import { ContentHash, GIVEN_MORE_THAN_ONCE, Level, Slug } from './common.js';
import { Problem } from './problem.js';

export const MAX_BATCH_ITEMS = 500;
export const MAX_ANSWERS = 200;
export const MAX_QUESTION_ID_LENGTH = 64;
export const MAX_RESPONDENT_LENGTH = 200;
/** A UTF-16 surrogate without its pair: text that strict JSON readers refuse once it is sent back. */
export const LONE_SURROGATE = /\p{Cs}/u;

const ANSWER_RANGE = 'must be from 1 to 5';

export const Answer = z
  .strictObject({
    questionId: z.string().min(1).max(MAX_QUESTION_ID_LENGTH).describe('A question id from GET /v1/assessment/questions'),
    // The range in one message, as a query's whole numbers give theirs: a whole number past the safe
    // integers (1e20), which zod's int bounds first, is told the same range, once (checkThoroughly).
    value: z
      .int({ error: (issue) => (issue.code === 'too_big' || issue.code === 'too_small' ? ANSWER_RANGE : undefined) })
      .min(1, { error: ANSWER_RANGE })
      .max(5, { error: ANSWER_RANGE })
      .describe('1 strongly disagree, 2 disagree, 3 neutral, 4 agree, 5 strongly agree'),
  })
  .meta({ id: 'Answer' });

export const Submission = z
  .strictObject({
    answers: z
      .array(Answer)
      .min(1, { error: `must not be empty: give at least ${MIN_ANSWERS} answers` })
      .max(MAX_ANSWERS)
      .describe(`At least ${MIN_ANSWERS} answers, each question at most once`),
    companySize: Slug.nullable()
      .optional()
      .describe('Score against the levels at this company size (null or absent: the baseline, as a result says it)'),
    respondent: z
      .string()
      // Checked before the trim so that the document says it too (a pattern).
      .regex(/\S/, 'must not be blank')
      .trim()
      .max(MAX_RESPONDENT_LENGTH)
      .refine((label) => !LONE_SURROGATE.test(label), 'must be well-formed Unicode: it has a lone surrogate')
      .nullable()
      .optional()
      .describe(
        `A free label, e.g. a name or an alias; stored without surrounding whitespace, which its ${MAX_RESPONDENT_LENGTH} characters do not count (null or absent: none)`,
      ),
  })
  .meta({
    id: 'Submission',
    // Filled in by the docs' "Try it out": eight answers to real questions, enough to be scored.
    examples: [
      {
        companySize: 'scale-up',
        respondent: 'sam',
        answers: [
          { questionId: 'q-coding-daily', value: 5 },
          { questionId: 'q-coding-avoid', value: 1 },
          { questionId: 'q-design-architecture', value: 5 },
          { questionId: 'q-review-code', value: 4 },
          { questionId: 'q-hiring-interviews', value: 2 },
          { questionId: 'q-hiring-avoid', value: 4 },
          { questionId: 'q-career-conversations', value: 2 },
          { questionId: 'q-perf-evaluations', value: 1 },
        ],
      },
    ],
  });

export type SubmissionInput = z.output<typeof Submission>;

export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1, { abort: true, error: 'must not be empty' })
    // Node joins a header sent twice with ", ", which no key can contain.
    .refine((key) => !key.includes(', '), { abort: true, error: GIVEN_MORE_THAN_ONCE })
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters: no spaces or control characters')
    .optional()
    .describe('Retry safely: the same key with the same body replays the first response for at least 48 hours'),
});

export const Versions = z
  .object({
    instrument: z.string().describe('Question bank version'),
    scoring: z.string().describe('Scoring formula version'),
    kbRelease: z.string().describe('Knowledge-base release whose levels were used'),
    kbContentHash: ContentHash.optional().describe(
      'SHA-256 over the content of that release, as `/v1/meta` gives it (absent on assessments stored before 2026-12-03)',
    ),
  })
  .meta({ id: 'Versions' });

export const Result = z
  .object({
    companySize: Slug.nullable(),
    scores: z.array(z.object({ role: Slug, name: z.string(), fit: z.number().min(0).max(100) })).describe('Every role, best fit first'),
    recommendation: z.object({
      role: Slug.nullable().describe('null when the answers do not separate the roles'),
      confidence: z.enum(CONFIDENCES),
      margin: z.number().min(0).max(100).describe('Fit points between the best and the second role'),
    }),
    breakdown: z
      .array(
        z.object({
          competency: Slug,
          name: z.string(),
          answered: z.int().min(0),
          affinity: z.number().min(0).max(1).nullable().describe('0..1 from the answers, null when unanswered'),
          expected: z
            .array(z.object({ role: Slug, level: Level }))
            .describe("Each role's expected level, the roles in catalogue order (not in the order of scores)"),
          contributions: z
            .array(z.object({ role: Slug, points: z.number() }))
            .describe('Fit points this competency moved, per role, the roles in catalogue order'),
        }),
      )
      .describe('Every competency, in catalogue order'),
    highlights: z
      .array(z.object({ competency: Slug, name: z.string(), favours: Slug, points: z.number(), reason: z.string() }))
      .max(3)
      .describe('The competencies that moved the gap between the two best roles most; none for a straight-lined result'),
    flags: z
      // Open: a later scoring version may add a flag, which a client should show rather than refuse.
      .array(z.union([z.enum(FLAGS), Slug]))
      .describe(
        'The flags of this result, in the order they are described below. Later scoring versions may add flags (each a lowercase slug), ' +
          'so a client should show a flag it does not know rather than refuse the result. ' +
          'incomplete: fewer than 80% of the questions answered, confidence at most lean; straight-lining: the answers state no ' +
          "preference, no recommendation; inconsistent (from shape-1.7): once keyed, the answers to a competency's plain and " +
          `reverse-keyed statements lie ${INCONSISTENCY.threshold * 4} steps apart or more on average, over ` +
          `${INCONSISTENCY.minPairs} or more competencies answered both ways ` +
          '(a statement and its opposite both agreed with, or answers at random), confidence at most lean; it can come with ' +
          'straight-lining, which then decides the recommendation (none); ' +
          "response-style (from shape-1.4): with questions left out, the gap the answers' " +
          'general lean makes of them was taken off the margin, lowering the confidence',
      ),
    answered: z.object({ count: z.int().min(0), total: z.int().min(0) }),
    versions: Versions,
    intendedUse: z.string(),
  })
  .meta({ id: 'AssessmentResult' });

const storedFields = {
  companySize: Slug.nullable(),
  respondent: z.string().nullable(),
  answers: z.array(Answer),
  result: Result,
};

export const Assessment = z
  .object({
    id: z.uuid(),
    createdAt: z.iso.datetime(),
    companySize: storedFields.companySize,
    respondent: storedFields.respondent,
    idempotencyKey: z
      .string()
      .nullable()
      .optional()
      .describe(
        "The Idempotency-Key it was submitted with (each item of a batch has its batch's), null without one; absent from assessments stored by earlier versions (up to 2026-12-03)",
      ),
    answers: storedFields.answers,
    result: storedFields.result,
  })
  .meta({ id: 'Assessment', description: 'A stored assessment, exactly as it was scored' });

export const AssessmentPreview = z.object(storedFields).meta({ id: 'AssessmentPreview' });

/**
 * zod's UUID pattern with the max UUID in either case, as every other UUID is: ids are read in either
 * case (RFC 9562), so FFFFFFFF-… is an id never stored (404), as ffffffff-… is, not a malformed one.
 */
const ANY_CASE_UUID = new RegExp(
  z.regexes.uuid().source.replace('ffffffff-ffff-ffff-ffff-ffffffffffff', '[fF]{8}-[fF]{4}-[fF]{4}-[fF]{4}-[fF]{12}'),
);

export const AssessmentParams = z.strictObject({
  id: z
    // The question bank is under the singular `/v1/assessment/`: the plural, where ids are read, is
    // the easy slip, and is told where the questions are.
    .stringFormat('uuid', ANY_CASE_UUID, {
      error: (issue) =>
        `must be an assessment id: the UUID in the Location of its 201${issue.input === 'questions' ? ' (the questions are at /v1/assessment/questions)' : ''}`,
    })
    .meta({ description: 'The id returned when the assessment was created', examples: ['0b6f2a54-3c1e-4d8a-9f27-6e5d4c3b2a19'] }),
});

export const BatchRequest = z
  .strictObject({ items: z.array(Submission).min(1).max(MAX_BATCH_ITEMS) })
  .meta({ id: 'BatchRequest', description: `Up to ${MAX_BATCH_ITEMS} submissions, each scored and stored on its own` });

/** An item's HTTP status: zod writes a number literal as a `number`, which a status is not. */
const itemStatus = <const S extends number>(...statuses: [S, ...S[]]) => z.literal(statuses).meta({ type: 'integer' });

export const BatchResponse = z
  .object({
    items: z.array(
      z.union([
        z.object({
          status: itemStatus(201),
          location: z
            .string()
            .optional()
            .describe(
              "Where the stored assessment is read, as a single POST's Location gives it: `/v1/assessments/{id}`, relative to the URL the batch went to. " +
                'Absent from the replay of a batch first answered before 2026-12-06, which is sent as it was.',
            ),
          assessment: Assessment,
        }),
        z.object({ status: itemStatus(400, 422), problem: Problem }),
      ]),
    ),
  })
  .meta({ id: 'BatchResponse', description: 'One entry per submitted item, in input order' });

export const Question = z
  .object({
    id: z.string(),
    order: z.int().min(1),
    prompt: z.string(),
    competency: Slug,
    keyed: z.enum(KEYINGS).describe('minus: agreeing means less affinity (reverse-keyed)'),
  })
  .meta({ id: 'Question' });

export const InstrumentQuery = z.strictObject({
  version: z
    .string()
    .min(1, { abort: true, error: 'must not be empty' })
    // As long as seed/questions.json lets one be: any version seeded can be asked for.
    .max(32)
    .optional()
    .meta({
      description:
        "An instrument version (a result's `versions.instrument`): its questions as they were, to read the answers of results scored with them. Without it, the current questions.",
      examples: ['2026.12.1'],
    }),
});

export const Instrument = z
  .object({
    version: z.string().describe('The instrument version, which a result scored with these questions carries as `versions.instrument`'),
    current: z
      .boolean()
      .describe(
        'Whether these are the questions submissions are scored with now; an earlier version (`?version=`) is for reading the answers of results scored with it',
      ),
    kbRelease: z.string().describe('The knowledge-base release that gave these questions (for an earlier version, the last one that did)'),
    scale: z.array(z.object({ value: z.int().min(1).max(5), label: z.string() })),
    questions: z.array(Question),
    minAnswers: z.int().min(1),
  })
  .meta({ id: 'Instrument' });
