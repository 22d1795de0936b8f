import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { type AssessmentResult, assess } from '../src/domain/assessment.js';
import { answersJson, assessmentJson, resultJson } from '../src/services/assessment-json.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed } from './support/fixtures.js';
import { validSubmissions } from './support/fuzz.js';

/** The hand-written JSON of stored assessments must be the very text JSON.stringify gives. */
const QUESTION_IDS = readRawSeed().questions.questions.map((q) => q.id);

const submission = validSubmissions(QUESTION_IDS, ['startup', 'scale-up', 'big-tech']);

/** Any number JSON can meet, including the ones the scoring never gives. */
const anyNumber = fc.oneof(
  fc.double(),
  fc.integer({ min: -10_000, max: 10_000 }).map((n) => n / 100),
  fc.integer({ min: -999_999_999, max: 999_999_999 }).map((n) => n / 100),
  fc.integer({ min: -999_999_999, max: 999_999_999 }).map((n) => n / 10_000),
  fc.integer({ min: -10_000, max: 10_000 }).map((n) => n / 10_000),
  fc.constantFrom(-0, 0.0001, -0.0001, 0.1 + 0.2, 1e21, 1e-7, 99.99, -99.99, 100, Number.MAX_SAFE_INTEGER / 100),
);

describe('assessment JSON', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('writes every scored result and its answers exactly as JSON.stringify does', () => {
    fc.assert(
      fc.property(submission, (s) => {
        const result = assess(app.kb, s);
        expect(resultJson(result)).toBe(JSON.stringify(result));
        expect(answersJson(s.answers)).toBe(JSON.stringify(s.answers));
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps the JSON only of lists that cannot change: a list or an item that can is written as it is now, each time', () => {
    const base = assess(app.kb, { answers: QUESTION_IDS.map((questionId, i) => ({ questionId, value: (i % 5) + 1 })) });
    const first = base.breakdown[0] as AssessmentResult['breakdown'][number];
    const withList = (expected: AssessmentResult['breakdown'][number]['expected']): AssessmentResult => ({
      ...base,
      breakdown: [{ ...first, expected }, ...base.breakdown.slice(1)],
    });
    // A frozen list of a mutable item: the item changes.
    const item = { role: 'tech-lead', level: 1 };
    const frozenList = withList(Object.freeze([item]));
    expect(resultJson(frozenList)).toBe(JSON.stringify(frozenList));
    item.level = 3;
    expect(resultJson(frozenList)).toBe(JSON.stringify(frozenList));
    // A mutable list of frozen items: the list grows.
    const list: Readonly<{ role: string; level: number }>[] = [Object.freeze({ role: 'tech-lead', level: 1 })];
    const mutableList = withList(list);
    expect(resultJson(mutableList)).toBe(JSON.stringify(mutableList));
    list.push(Object.freeze({ role: 'engineering-manager', level: 2 }));
    expect(resultJson(mutableList)).toBe(JSON.stringify(mutableList));
    // The model's own lists are written as they are, each time.
    expect(resultJson(base)).toBe(JSON.stringify(base));
    expect(resultJson(base)).toBe(JSON.stringify(base));
  });

  it('writes any number and any text in a result as JSON.stringify does, not only the ones scoring gives', () => {
    const base = assess(app.kb, { answers: QUESTION_IDS.map((questionId, i) => ({ questionId, value: (i % 5) + 1 })) });
    fc.assert(
      fc.property(
        fc.tuple(...Array.from({ length: 8 }, () => anyNumber)) as fc.Arbitrary<
          [number, number, number, number, number, number, number, number]
        >,
        fc.string({ unit: 'grapheme' }),
        ([fit, margin, affinity, points, highlight, answered, level, count], text) => {
          const result: AssessmentResult = structuredClone(base);
          result.scores[0] = { ...(result.scores[0] as AssessmentResult['scores'][number]), fit, name: text };
          result.recommendation.margin = margin;
          const first = result.breakdown[0] as AssessmentResult['breakdown'][number];
          Object.assign(first, { affinity, answered, competency: text });
          first.expected = [{ role: text, level: level }, ...first.expected.slice(1)];
          first.contributions[1] = { role: 'tech-lead', points: points };
          result.highlights = [{ competency: 'hiring', name: text, favours: text, points: highlight, reason: `${text}"\\\n` }];
          result.answered.count = count;
          result.intendedUse = text;
          expect(resultJson(result)).toBe(JSON.stringify(result));
          const answers = [{ questionId: text, value: count }];
          expect(answersJson(answers)).toBe(JSON.stringify(answers));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('writes an assessment as JSON.stringify does, with its Idempotency-Key when given and without the field when not', () => {
    const result = assess(app.kb, { answers: QUESTION_IDS.map((questionId, i) => ({ questionId, value: (i % 5) + 1 })) });
    const answers = [{ questionId: 'q', value: 3 }];
    fc.assert(
      fc.property(fc.option(fc.string({ unit: 'grapheme' })), fc.option(fc.string({ unit: 'grapheme' })), (key, respondent) => {
        const head = { id: '00000000-0000-4000-8000-000000000001', createdAt: '2026-12-03T00:00:00.000Z', companySize: null, respondent };
        const parts = { ...head, answers: answersJson(answers), result: resultJson(result) };
        expect(assessmentJson(parts, key)).toBe(JSON.stringify({ ...head, idempotencyKey: key, answers, result }));
        expect(assessmentJson(parts)).toBe(JSON.stringify({ ...head, answers, result }));
      }),
      { numRuns: 500 },
    );
  });
});
