import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { App } from '../src/app.js';
import { checkSubmission, checkThoroughly, quickCheck } from '../src/services/submission-check.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed } from './support/fixtures.js';
import { validSubmissions } from './support/fuzz.js';

/** How many times an unknown name was matched against the declared ones (the real matching, counted). */
const nameMatches = vi.hoisted(() => ({ count: 0 }));
vi.mock('../src/names.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/names.js')>();
  return {
    ...actual,
    unknownNameMessage: (...args: Parameters<typeof actual.unknownNameMessage>) => {
      nameMatches.count += 1;
      return actual.unknownNameMessage(...args);
    },
  };
});

/**
 * checkSubmission accepts plainly valid bodies on a quick path and sends everything else through
 * the schema. These tests hold the quick path to the schema's answers: on any body, valid or not,
 * both give the same outcome.
 */
const QUESTION_IDS = readRawSeed().questions.questions.map((q) => q.id);
const SIZES = ['startup', 'scale-up', 'big-tech'];

const validBody = validSubmissions(QUESTION_IDS, SIZES);

/** Values that are wrong somewhere in a submission, some of them only just. */
const wrongValue = fc.oneof(
  fc.constantFrom(0, 6, -1, 2.5, 1e308, Number.NaN, '3', null, true, [], {}),
  fc.double(),
  fc.string({ maxLength: 70 }),
);

/** One change to a valid submission: most leave it invalid, a few (a padded respondent) do not. */
const change = fc.oneof(
  fc.record({ kind: fc.constant('value'), at: fc.nat(), to: wrongValue }),
  fc.record({ kind: fc.constant('questionId'), at: fc.nat(), to: fc.oneof(wrongValue, fc.constantFrom('q-unknown', 'q'.repeat(65), '')) }),
  fc.record({ kind: fc.constant('repeat'), at: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('drop-value'), at: fc.nat() }),
  fc.record({ kind: fc.constant('answer-field'), at: fc.nat() }),
  fc.record({ kind: fc.constant('answer'), at: fc.nat(), to: wrongValue }),
  fc.record({ kind: fc.constant('keep'), count: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('pad'), count: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ kind: fc.constant('companySize'), to: fc.oneof(wrongValue, fc.constantFrom('huge', 'Startup', undefined)) }),
  fc.record({
    kind: fc.constant('respondent'),
    to: fc.oneof(wrongValue, fc.constantFrom('', '   ', ` ${'r'.repeat(200)} `, 'r'.repeat(201), ' \t ada \n', undefined)),
  }),
  fc.record({ kind: fc.constant('field'), name: fc.string(), to: fc.anything() }),
  fc.record({ kind: fc.constant('answers'), to: wrongValue }),
);
type Change = typeof change extends fc.Arbitrary<infer C> ? C : never;

function apply(body: Record<string, unknown>, c: Change) {
  const answers = body.answers;
  // A change to the answers applies only while they are still a list of objects.
  if (!Array.isArray(answers)) return;
  const answerAt = (i: number): Record<string, unknown> => {
    const answer = answers[i % answers.length];
    return typeof answer === 'object' && answer !== null ? answer : {};
  };
  switch (c.kind) {
    case 'value':
      answerAt(c.at).value = c.to;
      break;
    case 'questionId':
      answerAt(c.at).questionId = c.to;
      break;
    case 'repeat':
      answerAt(c.to).questionId = answerAt(c.at).questionId;
      break;
    case 'drop-value':
      delete answerAt(c.at).value;
      break;
    case 'answer-field':
      answerAt(c.at).note = 'extra';
      break;
    case 'answer':
      answers[c.at % answers.length] = c.to;
      break;
    case 'keep':
      answers.splice(c.count);
      break;
    case 'pad':
      // Repeated questions past the distinct ones, up to and past the 200-answer limit.
      for (let i = 0; i < c.count; i++) answers.push({ questionId: QUESTION_IDS[i % QUESTION_IDS.length], value: 3 });
      break;
    case 'companySize':
    case 'respondent':
      body[c.kind] = c.to;
      break;
    case 'field':
      body[c.name] = c.to;
      break;
    case 'answers':
      body.answers = c.to;
      break;
  }
}

const body = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(validBody, fc.boolean(), fc.boolean(), fc.array(change, { maxLength: 2 }))
      .map(([generated, asParsed, reversed, changes]) => {
        // As JSON.parse makes it, or as fast-check does (nested objects without a prototype).
        const parsed: Record<string, unknown> = asParsed ? JSON.parse(JSON.stringify(generated)) : generated;
        // Fields in any order: half the bodies list them backwards.
        const b = reversed ? Object.fromEntries(Object.entries(parsed).reverse()) : parsed;
        for (const c of changes) apply(b, c);
        return b;
      }),
  },
  { weight: 1, arbitrary: fc.anything() },
);

describe('submission checks: the quick path against the schema', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('gives the same outcome as the schema and the knowledge-base checks on any body', () => {
    fc.assert(
      fc.property(body, (raw) => {
        const [quick, thorough] = [checkSubmission(app.kb, raw), checkThoroughly(app.kb, raw)];
        expect(quick).toStrictEqual(thorough);
        // Key order too: a preview sends the checked answers as they are.
        expect(JSON.stringify(quick)).toBe(JSON.stringify(thorough));
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the quick path for valid bodies, with the respondent trimmed as the schema trims it', () => {
    const answers = QUESTION_IDS.slice(0, 10).map((questionId, i) => ({ questionId, value: (i % 5) + 1 }));
    const raw = { answers, companySize: 'big-tech', respondent: '  Ada  ' };
    const quick = quickCheck(app.kb, raw);
    expect(quick).toEqual({ answers, companySize: 'big-tech', respondent: 'Ada' });
    expect(checkThoroughly(app.kb, raw)).toEqual({ ok: true, submission: quick });
  });

  it.each([
    ['an answer given twice', { answers: [...QUESTION_IDS.slice(0, 8), QUESTION_IDS[0]].map((questionId) => ({ questionId, value: 3 })) }],
    ['too few answers', { answers: QUESTION_IDS.slice(0, 7).map((questionId) => ({ questionId, value: 3 })) }],
    ['an unknown field', { answers: QUESTION_IDS.slice(0, 8).map((questionId) => ({ questionId, value: 3 })), mood: 'fine' }],
    [
      'an object with a prototype of its own',
      Object.assign(Object.create({ inherited: 1 }), { answers: QUESTION_IDS.slice(0, 8).map((questionId) => ({ questionId, value: 3 })) }),
    ],
  ])('leaves %s to the schema', (_name, raw) => {
    expect(quickCheck(app.kb, raw)).toBeUndefined();
    expect(checkSubmission(app.kb, raw).ok).toBe(false);
  });

  // Guards against: each unknown field of each answer was compared with the declared names edit by
  // edit, so that a 4 MiB batch of answers with 14 made-up fields a letter or two from questionId
  // (questionIa, questionIb, …) took three times the CPU of one whose made-up names are far from
  // every declared one, about a second more; a name is now compared once a body. Counted rather than
  // timed: a timing ratio moved with the load of the tests beside it.
  it('matches each made-up field name against the declared ones once a body, not once an answer', () => {
    const names = [...'abcefghijklmno'].map((letter) => `questionI${letter}`);
    const body = {
      answers: Array.from({ length: 200 }, () => ({ questionId: 'q', value: 3, ...Object.fromEntries(names.map((n) => [n, 1])) })),
    };
    nameMatches.count = 0;
    const check = checkThoroughly(app.kb, body);
    expect(nameMatches.count).toBe(names.length);
    // Every answer still names each of its made-up fields, with the name it was likely meant as.
    const unknown = check.ok ? [] : check.errors.filter((e) => e.message.startsWith('unknown field'));
    expect(unknown).toHaveLength(200 * names.length);
    expect(unknown[0]).toEqual({ field: 'body.answers[0].questionIa', message: 'unknown field; did you mean questionId?' });
    expect(unknown.at(-1)).toEqual({ field: 'body.answers[199].questionIo', message: 'unknown field; did you mean questionId?' });
  });

  // An unknown question id a letter or two from one in the bank is told that id; ids far from all
  // of them, and every one past the tenth of a body, are told where the ids are listed, so that a
  // body of thousands of made-up ids costs a few comparisons with the bank, not one per answer.
  it('tells an unknown question id the id it was likely meant as, for the first ten of a body', () => {
    const known = QUESTION_IDS.slice(0, 8).map((questionId) => ({ questionId, value: 3 }));
    const typo = (id: string) => `${id.slice(0, 4)}${id.slice(5)}`;
    const near = QUESTION_IDS.slice(8, 20);
    const answers = [...known, { questionId: 'q-nothing-like-any', value: 3 }, ...near.map((id) => ({ questionId: typo(id), value: 3 }))];
    const check = checkThoroughly(app.kb, { answers });
    expect(check).toMatchObject({ ok: false, fault: 'unscorable' });
    const messages = check.ok ? [] : check.errors.map((e) => e.message);
    const listed = '; the question ids are listed by GET /v1/assessment/questions';
    expect(messages[0]).toBe(`unknown question "q-nothing-like-any"${listed}`);
    // The far id counts as one of the ten: nine near ones are told their id, the last three are not.
    expect(messages.slice(1, 10)).toEqual(near.slice(0, 9).map((id) => `unknown question "${typo(id)}"; did you mean ${id}?`));
    expect(messages.slice(10, 13)).toEqual(near.slice(9).map((id) => `unknown question "${typo(id)}"${listed}`));
  });

  // Guards against: a typo of an id the body also answers was told that id, and taking the
  // suggestion would have answered that question twice.
  it('suggests only an id the body leaves unanswered', () => {
    const first = QUESTION_IDS[0] as string;
    const typo = `${first.slice(0, 4)}${first.slice(5)}`;
    const answers = QUESTION_IDS.slice(0, 8).map((questionId) => ({ questionId, value: 3 }));
    // The typo comes before the answer it is a copy of: the whole body counts, not what came before.
    const repeated = checkThoroughly(app.kb, { answers: [{ questionId: typo, value: 4 }, ...answers] });
    expect(repeated.ok ? [] : repeated.errors).toEqual([
      {
        field: 'body.answers[0].questionId',
        message: `unknown question "${typo}"; the question ids are listed by GET /v1/assessment/questions`,
      },
    ]);
    const left = checkThoroughly(app.kb, { answers: [{ questionId: typo, value: 4 }, ...answers.filter((a) => a.questionId !== first)] });
    expect(left.ok ? [] : left.errors.map((e) => e.message)).toContain(`unknown question "${typo}"; did you mean ${first}?`);
  });

  // Guards against (from a review): a 63-letter id and an emoji (64 characters, allowed) was quoted
  // cut in the middle of the emoji's surrogate pair, and an id holding a lone surrogate was quoted as
  // it came: the problem was not well-formed Unicode, which strict JSON readers refuse.
  it.each([
    ['an emoji at the 64th character', `${'a'.repeat(63)}😀`, `${'a'.repeat(63)}😀`],
    ['a lone surrogate', 'q-\ud800-x', 'q-\ufffd-x'],
  ])('quotes an unknown question id with %s as well-formed Unicode', (_name, questionId, quoted) => {
    const answers = [{ questionId, value: 3 }, ...QUESTION_IDS.slice(0, 8).map((id) => ({ questionId: id, value: 3 }))];
    const check = checkThoroughly(app.kb, { answers });
    expect(check.ok).toBe(false);
    const messages = check.ok ? [] : check.errors.map((e) => e.message);
    expect(messages).toContain(`unknown question "${quoted}"; the question ids are listed by GET /v1/assessment/questions`);
    for (const message of messages) expect(message).not.toMatch(/\p{Cs}/u);
  });

  // Guards against (from a review): an unknown field's name was quoted whole (5,000 characters) and
  // with its lone surrogates, in a problem a keyed batch also keeps.
  it.each([
    ['a lone surrogate', 'x\ud800', 'body["x\ufffd"]'],
    ['5,000 characters', 'k'.repeat(5000), `body["${'k'.repeat(64)}…"]`],
  ])('names an unknown field with %s as well-formed, short text', (_name, field, named) => {
    const answers = QUESTION_IDS.slice(0, 8).map((questionId) => ({ questionId, value: 3 }));
    const check = checkThoroughly(app.kb, { answers, [field]: 1 });
    expect(check.ok ? [] : check.errors).toContainEqual({ field: named, message: 'unknown field' });
  });

  // Guards against (from a review): the batch route wrote the names of unknown fields beside `items`
  // as they came, so a dotted, long or broken name read otherwise than on the single routes.
  it.each([
    ['a dot', 'a.b', 'body["a.b"]'],
    ['a lone surrogate', 'x\ud800', 'body["x\ufffd"]'],
    ['5,000 characters', 'k'.repeat(5000), `body["${'k'.repeat(64)}…"]`],
  ])("names an unknown field with %s beside a batch's items as the single routes do", async (_name, field, named) => {
    const answers = QUESTION_IDS.slice(0, 8).map((questionId) => ({ questionId, value: 3 }));
    const response = await app.inject({
      method: 'POST',
      url: '/v1/assessments/batch',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ items: [{ answers }], [field]: 1 }),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toContainEqual({ field: named, message: 'unknown field' });
  });
});
