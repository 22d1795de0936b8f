import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { INTENDED_USE } from '../src/domain/assessment.js';
import { MIN_ANSWERS, SCORING_VERSION } from '../src/domain/scoring.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed } from './support/fixtures.js';
import { document, responseProblems } from './support/openapi.js';

const seed = readRawSeed();
const QUESTIONS = seed.questions.questions;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let app: Awaited<ReturnType<typeof buildTestApp>>;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

function checked(method: string, url: string, response: LightMyRequestResponse) {
  expect(responseProblems(method, url, response.statusCode, response.headers['content-type'] as string | undefined, response.body)).toEqual(
    [],
  );
  return response;
}

async function get(url: string, headers: Record<string, string> = {}) {
  return checked('GET', url, await app.inject({ method: 'GET', url, headers }));
}

async function post(url: string, payload: unknown, headers: Record<string, string> = {}) {
  // A string is sent as it is (to test malformed or reordered JSON); anything else is serialised.
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  return checked('POST', url, response);
}

type Answer = { questionId: string; value: number };

/** A varied, complete submission (not straight-lined), built from the seed questions. */
function submission(overrides: Record<string, unknown> = {}, count = QUESTIONS.length) {
  const answers: Answer[] = QUESTIONS.slice(0, count).map((q, i) => ({ questionId: q.id, value: (i % 5) + 1 }));
  return { answers, ...overrides };
}

const count = () => app.repository.countAssessments();

function expectProblem(response: LightMyRequestResponse, status: number) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toContain('application/problem+json');
  const body = response.json();
  expect(body.status).toBe(status);
  return body as { code: string; detail: string; errors?: { field: string; message: string }[] };
}

describe('GET /v1/assessment/questions', () => {
  it('returns the instrument: version, a 1..5 scale with labels and the questions in seed order', async () => {
    const response = await get('/v1/assessment/questions');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.version).toBe(seed.questions.instrumentVersion);
    expect(body.kbRelease).toBe(seed.release);
    expect(body.minAnswers).toBe(MIN_ANSWERS);
    expect(body.scale.map((s: { value: number }) => s.value)).toEqual([1, 2, 3, 4, 5]);
    for (const s of body.scale) expect(typeof s.label === 'string' && s.label.trim().length > 0).toBe(true);
    expect(new Set(body.scale.map((s: { label: string }) => s.label)).size).toBe(5);
    expect(body.questions).toEqual(
      QUESTIONS.map((q, i) => ({ id: q.id, order: i + 1, prompt: q.prompt, competency: q.competency, keyed: q.keyed })),
    );
  });

  it('sends an ETag and answers If-None-Match with 304', async () => {
    const first = await get('/v1/assessment/questions');
    const etag = first.headers.etag as string;
    expect(etag).toBeTruthy();
    expect(first.headers['cache-control']).toBeTruthy();
    const again = await get('/v1/assessment/questions', { 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const stale = await get('/v1/assessment/questions', { 'if-none-match': '"not-the-etag"' });
    expect(stale.statusCode).toBe(200);
  });
});

describe('POST /v1/assessments', () => {
  it('scores and stores a submission: 201, Location with a UUID v4, versions and intended use', async () => {
    const before = count();
    const response = await post('/v1/assessments', submission({ companySize: 'scale-up', respondent: 'Ada' }));
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body.id).toMatch(UUID_V4);
    expect(response.headers.location).toBe(`/v1/assessments/${body.id}`);
    expect(Date.parse(body.createdAt)).not.toBeNaN();
    expect(Math.abs(Date.parse(body.createdAt) - Date.now())).toBeLessThan(60_000);
    expect(body.companySize).toBe('scale-up');
    expect(body.respondent).toBe('Ada');
    expect(body.answers).toEqual(submission().answers);
    expect(body.result.versions).toEqual({
      instrument: seed.questions.instrumentVersion,
      scoring: SCORING_VERSION,
      kbRelease: seed.release,
      kbContentHash: (await get('/v1/meta')).json().contentHash,
    });
    expect(body.result.versions.kbContentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(body.result.intendedUse).toBe(INTENDED_USE);
    expect(body.result.intendedUse).toMatch(/not for hiring/i);
    expect(body.result.companySize).toBe('scale-up');
    expect(body.result.answered).toEqual({ count: QUESTIONS.length, total: QUESTIONS.length });
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    expect(count()).toBe(before + 1);
  });

  it('scores with the same levels as the comparison at the submitted company size', async () => {
    for (const size of [undefined, 'startup', 'big-tech']) {
      const created = (await post('/v1/assessments', submission(size ? { companySize: size } : {}))).json();
      const comparison = (await get(`/v1/comparisons?roles=tech-lead,engineering-manager${size ? `&companySize=${size}` : ''}`)).json();
      for (const row of created.result.breakdown) {
        const compared = comparison.competencies.find((c: { competency: { slug: string } }) => c.competency.slug === row.competency);
        expect(row.expected).toEqual(compared.levels.map((l: { role: string; level: number }) => ({ role: l.role, level: l.level })));
      }
    }
  });

  it('gives unguessable ids: 100 posts, 100 distinct UUID v4', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const response = await app.inject({ method: 'POST', url: '/v1/assessments', payload: submission() });
      expect(response.statusCode).toBe(201);
      const id = response.json().id as string;
      expect(id).toMatch(UUID_V4);
      ids.add(id);
    }
    expect(ids.size).toBe(100);
  });

  it('flags answers that contradict themselves inconsistent and calls them lean at most, stored and previewed alike', async () => {
    // Drawn to the technical competencies (5 once keyed), away from the people ones (1), neutral
    // elsewhere, but every reverse-keyed statement agreed with two steps more than that view allows.
    const category = new Map(seed.competencies.map((c) => [c.slug, c.category]));
    const viewOf = (competency: string) => ({ technical: 5, people: 1 })[category.get(competency) as string] ?? 3;
    const answers = QUESTIONS.map((q) => {
      const view = viewOf(q.competency);
      return { questionId: q.id, value: q.keyed === 'plus' ? view : Math.min(5, 8 - view) };
    });
    const created = await post('/v1/assessments', { answers });
    expect(created.statusCode).toBe(201);
    const { result } = created.json();
    expect(result.flags).toEqual(['inconsistent']);
    expect(result.recommendation.role).toBe('tech-lead');
    expect(result.recommendation.confidence).toBe('lean');
    expect(result.recommendation.margin).toBeGreaterThanOrEqual(15);
    expect(result.versions.scoring).toBe(SCORING_VERSION);
    const preview = await post('/v1/assessments/preview', { answers });
    expect(preview.json().result.flags).toEqual(['inconsistent']);
    expect(preview.json().result.recommendation).toEqual(result.recommendation);
    // The same view answered consistently is a clear Tech Lead without a flag.
    const consistent = QUESTIONS.map((q) => ({
      questionId: q.id,
      value: q.keyed === 'plus' ? viewOf(q.competency) : 6 - viewOf(q.competency),
    }));
    const clear = (await post('/v1/assessments/preview', { answers: consistent })).json().result;
    expect(clear.flags).toEqual([]);
    expect(clear.recommendation.confidence).toBe('clear');
  });

  it('reads back from its Location byte for byte', async () => {
    const created = await post('/v1/assessments', submission({ respondent: 'round trip' }));
    const read = await get(created.headers.location as string);
    expect(read.statusCode).toBe(200);
    expect(read.headers['content-type']).toContain('application/json');
    expect(read.body).toBe(created.body);
  });
});

describe('POST /v1/assessments: validation', () => {
  const replaceAnswer = (index: number, answer: unknown) => {
    const body = submission();
    (body.answers as unknown[])[index] = answer;
    return body;
  };

  it.each([
    ['value 0', replaceAnswer(2, { questionId: QUESTIONS[2]!.id, value: 0 }), 'body.answers[2].value'],
    ['value 6', replaceAnswer(2, { questionId: QUESTIONS[2]!.id, value: 6 }), 'body.answers[2].value'],
    ['value 2.5', replaceAnswer(2, { questionId: QUESTIONS[2]!.id, value: 2.5 }), 'body.answers[2].value'],
    ['value "3"', replaceAnswer(2, { questionId: QUESTIONS[2]!.id, value: '3' }), 'body.answers[2].value'],
    ['a missing value', replaceAnswer(2, { questionId: QUESTIONS[2]!.id }), 'body.answers[2].value'],
    ['missing answers', { companySize: 'startup' }, 'body.answers'],
    ['answers that are not an array', { answers: 'all of them' }, 'body.answers'],
    ['an empty respondent', submission({ respondent: '   ' }), 'body.respondent'],
  ])('answers 400 for %s', async (_, payload, field) => {
    const before = count();
    const problem = expectProblem(await post('/v1/assessments', payload), 400);
    expect(problem.code).toBe('validation-error');
    expect(problem.errors?.map((e) => e.field)).toContain(field);
    expect(count()).toBe(before);
  });

  it('says a blank respondent is blank, as the OpenAPI document does (its pattern refuses one too)', async () => {
    const problem = expectProblem(await post('/v1/assessments', submission({ respondent: ' \t\u00a0 ' })), 400);
    expect(problem.errors).toEqual([{ field: 'body.respondent', message: 'must not be blank' }]);
    const respondent = document.components.schemas.SubmissionInput.properties.respondent as { anyOf: { type: string; pattern?: string }[] };
    const documented = respondent.anyOf.find((s) => s.type === 'string') as { pattern: string };
    expect(new RegExp(documented.pattern, 'u').test(' \t\u00a0 ')).toBe(false);
    expect(new RegExp(documented.pattern, 'u').test(' sam ')).toBe(true);
  });

  it.each([
    ['an empty companySize', { companySize: '' }, 'body.companySize', 'must not be empty'],
    [
      'an upper-case companySize',
      { companySize: 'Startup' },
      'body.companySize',
      'must be a lowercase slug: letters, digits and single hyphens; did you mean startup?',
    ],
  ])('gives %s one problem, not also "unknown company size"', async (_, extra, field, message) => {
    const problem = expectProblem(await post('/v1/assessments', submission(extra)), 400);
    expect(problem.errors).toEqual([{ field, message }]);
  });

  it('takes back what a preview sends (companySize and respondent null) and scores it as the preview did', async () => {
    const preview = await post('/v1/assessments/preview', submission());
    expect(preview.statusCode).toBe(200);
    const { companySize, respondent, answers, result } = preview.json();
    expect([companySize, respondent]).toEqual([null, null]);
    const created = await post('/v1/assessments', { companySize, respondent, answers });
    expect(created.statusCode).toBe(201);
    const stored = created.json();
    expect([stored.companySize, stored.respondent]).toEqual([null, null]);
    expect(stored.result.scores).toEqual(result.scores);
  });

  it.each([
    ['left out, then null', {}, { companySize: null, respondent: null }],
    ['null, then left out', { companySize: null, respondent: null }, {}],
    // Guards against: the label is stored trimmed, but a retry that padded it was a 422 (key reused
    // with a different body) for a submission that would have been stored the same.
    ['a label, then the same label padded with whitespace', { respondent: 'alice' }, { respondent: ' alice\t' }],
    ['a padded label, then the label alone', { respondent: '\n alice ' }, { respondent: 'alice' }],
  ])('replays a retry whose companySize and respondent were %s', async (label, first, retry) => {
    const key = `retry-${label.replace(/\W+/g, '-')}`;
    const created = await post('/v1/assessments', submission(first), { 'idempotency-key': key });
    expect(created.statusCode).toBe(201);
    const replayed = await post('/v1/assessments', submission(retry), { 'idempotency-key': key });
    expect(replayed.statusCode).toBe(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body).toBe(created.body);
  });

  it('still refuses a retry under the same key whose label differs by more than whitespace', async () => {
    const key = 'label-differs';
    expect((await post('/v1/assessments', submission({ respondent: 'alice' }), { 'idempotency-key': key })).statusCode).toBe(201);
    const problem = expectProblem(await post('/v1/assessments', submission({ respondent: 'a lice' }), { 'idempotency-key': key }), 422);
    expect(problem.code).toBe('idempotency-key-reused');
  });

  it('answers 400 for an unknown field at the top level, naming it', async () => {
    const problem = expectProblem(await post('/v1/assessments', submission({ colour: 'blue' })), 400);
    expect(problem.errors?.some((e) => `${e.field} ${e.message}`.includes('colour'))).toBe(true);
  });

  it('answers 400 for an unknown field inside an answer, naming where', async () => {
    const problem = expectProblem(
      await post('/v1/assessments', replaceAnswer(4, { questionId: QUESTIONS[4]!.id, value: 3, weight: 2 })),
      400,
    );
    expect(problem.errors?.some((e) => e.field.startsWith('body.answers[4]') && `${e.field} ${e.message}`.includes('weight'))).toBe(true);
  });

  it.each([
    ['an unknown question', replaceAnswer(1, { questionId: 'q-not-in-the-bank', value: 3 }), 'body.answers[1].questionId'],
    ['a question answered twice', replaceAnswer(6, { questionId: QUESTIONS[0]!.id, value: 3 }), 'body.answers[6].questionId'],
    ['an unknown company size', submission({ companySize: 'mega-corp' }), 'body.companySize'],
    ['fewer than 8 answers', submission({}, MIN_ANSWERS - 1), 'body.answers'],
  ])('answers 422 for %s', async (_, payload, field) => {
    const before = count();
    const problem = expectProblem(await post('/v1/assessments', payload), 422);
    expect(problem.code).toBe('unscorable-submission');
    expect(problem.errors?.map((e) => e.field)).toContain(field);
    expect(count()).toBe(before);
  });

  it('tells a submission with an unknown company size which ones there are', async () => {
    const problem = expectProblem(await post('/v1/assessments', submission({ companySize: 'mega-corp' })), 422);
    expect(problem.errors).toContainEqual({
      field: 'body.companySize',
      message: 'unknown company size "mega-corp": must be one of: startup, scale-up, big-tech',
    });
  });

  it('accepts exactly 8 answers', async () => {
    const response = await post('/v1/assessments', submission({}, MIN_ANSWERS));
    expect(response.statusCode).toBe(201);
    expect(response.json().result.flags).toContain('incomplete');
  });

  it('does not count a repeated question towards the 8 answers', async () => {
    const answers = QUESTIONS.slice(0, MIN_ANSWERS - 1).map((q) => ({ questionId: q.id, value: 2 }));
    answers.push({ questionId: QUESTIONS[0]!.id, value: 4 });
    const problem = expectProblem(await post('/v1/assessments', { answers }), 422);
    // Guards against (from a user walkthrough): the count, with nothing saying that the repeat above is why.
    expect(problem.errors).toEqual([
      { field: 'body.answers[7].questionId', message: `question "${QUESTIONS[0]!.id}" is answered more than once` },
      {
        field: 'body.answers',
        message: 'needs at least 8 answers to distinct known questions (got 7, not counting the answer named above)',
      },
    ]);
  });

  it('says how many answers too few there are, and that the unknown ids named above are not counted', async () => {
    const answers = QUESTIONS.slice(0, MIN_ANSWERS - 2).map((q) => ({ questionId: q.id, value: 2 }));
    const bare = expectProblem(await post('/v1/assessments', { answers }), 422);
    expect(bare.errors).toEqual([{ field: 'body.answers', message: 'needs at least 8 answers to distinct known questions (got 6)' }]);
    answers.push({ questionId: 'no-such-question', value: 3 }, { questionId: 'nor-this-one', value: 3 });
    const typos = expectProblem(await post('/v1/assessments', { answers }), 422);
    expect(typos.errors?.at(-1)).toEqual({
      field: 'body.answers',
      message: 'needs at least 8 answers to distinct known questions (got 6, not counting the 2 answers named above)',
    });
  });

  it('answers 400 for a body that is not JSON', async () => {
    const problem = expectProblem(await post('/v1/assessments', '{"answers": [ {"questionId": '), 400);
    expect(problem.code).toBe('malformed-body');
  });

  it('answers 400 for a JSON body that is not an object', async () => {
    for (const payload of ['[]', '42', '"answers"', 'null']) {
      const response = await post('/v1/assessments', payload);
      expectProblem(response, 400);
    }
  });

  it.each(['text/plain', 'application/xml', 'application/x-www-form-urlencoded'])(
    'answers 415 for a JSON body sent as %s',
    async (type) => {
      const before = count();
      const response = checked(
        'POST',
        '/v1/assessments',
        await app.inject({
          method: 'POST',
          url: '/v1/assessments',
          headers: { 'content-type': type },
          payload: JSON.stringify(submission()),
        }),
      );
      const problem = expectProblem(response, 415);
      expect(problem.code).toBe('unsupported-media-type');
      expect(problem.detail).toBe(`The body must be JSON sent as Content-Type: application/json (this one came as "${type}").`);
      expect(count()).toBe(before);
    },
  );

  it('answers 415 for a body without a Content-Type, and says which one to send', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/assessments', payload: Buffer.from(JSON.stringify(submission())) });
    expect(expectProblem(response, 415).detail).toBe(
      'The body must be JSON sent as Content-Type: application/json (this one came as no Content-Type).',
    );
  });

  it('lists several problems at once, each with its field', async () => {
    const body = submission({ companySize: 'mega-corp', colour: 'blue' });
    (body.answers as unknown[])[3] = { questionId: QUESTIONS[3]!.id, value: 9 };
    (body.answers as unknown[])[5] = { questionId: 'q-unknown', value: 2 };
    (body.answers as unknown[])[7] = { questionId: QUESTIONS[7]!.id, value: '4' };
    const problem = expectProblem(await post('/v1/assessments', body), 400);
    const fields = problem.errors?.map((e) => e.field) ?? [];
    expect(fields).toEqual(
      expect.arrayContaining(['body.answers[3].value', 'body.answers[5].questionId', 'body.answers[7].value', 'body.companySize']),
    );
    expect(problem.errors?.some((e) => `${e.field} ${e.message}`.includes('colour'))).toBe(true);
    for (const e of problem.errors ?? []) expect(e.message.length).toBeGreaterThan(0);
  });
});

describe('POST /v1/assessments: Idempotency-Key', () => {
  it('replays the first response for the same key and body, storing nothing twice', async () => {
    const key = 'replay-1';
    const payload = submission({ respondent: 'retry' });
    const first = await post('/v1/assessments', payload, { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    const before = count();
    const second = await post('/v1/assessments', payload, { 'idempotency-key': key });
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json().id).toBe(first.json().id);
    expect(second.headers.location).toBe(first.headers.location);
    expect(second.body).toBe(first.body);
    expect(count()).toBe(before);
  });

  it('refuses the same key with a different body: 422 idempotency-key-reused', async () => {
    const key = 'reused-1';
    const first = await post('/v1/assessments', submission(), { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    const before = count();
    const other = await post('/v1/assessments', submission({ respondent: 'someone else' }), { 'idempotency-key': key });
    expect(expectProblem(other, 422).code).toBe('idempotency-key-reused');
    expect(count()).toBe(before);
  });

  it('ignores the key order of the JSON body', async () => {
    const key = 'reordered-1';
    const payload = submission({ companySize: 'startup', respondent: 'order' });
    const first = await post('/v1/assessments', payload, { 'idempotency-key': key });
    const before = count();
    const reordered = `{"respondent":"order","answers":[${payload.answers
      .map((a) => `{"value":${a.value},"questionId":${JSON.stringify(a.questionId)}}`)
      .join(',')}],"companySize":"startup"}`;
    expect(reordered).not.toBe(JSON.stringify(payload));
    const second = await post('/v1/assessments', reordered, { 'idempotency-key': key });
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json().id).toBe(first.json().id);
    expect(count()).toBe(before);
  });

  it('treats the same body with another key as a new submission', async () => {
    const payload = submission({ respondent: 'two keys' });
    const a = await post('/v1/assessments', payload, { 'idempotency-key': 'key-a' });
    const b = await post('/v1/assessments', payload, { 'idempotency-key': 'key-b' });
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(b.json().id).not.toBe(a.json().id);
  });

  it('stores once when 20 requests with one key arrive together, the later ones waiting for the first', async () => {
    const before = count();
    const groups = vi.spyOn(app.repository, 'saveAssessmentGroups');
    const payload = JSON.stringify(submission({ respondent: 'concurrent' }));
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.inject({
          method: 'POST',
          url: '/v1/assessments',
          headers: { 'content-type': 'application/json', 'idempotency-key': 'concurrent-1' },
          payload,
        }),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(201));
    const ids = new Set(responses.map((r) => r.json().id));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(count()).toBe(before + 1);
    // One save was attempted, not 20 racing to the unique index: the others replayed it.
    const attempted = groups.mock.calls.flatMap(([queued]) => queued.flatMap((group) => group.records));
    groups.mockRestore();
    expect(attempted).toHaveLength(1);
  });

  it('accepts a 255-character key and refuses a 256-character one with 400', async () => {
    const ok = await post('/v1/assessments', submission(), { 'idempotency-key': 'k'.repeat(255) });
    expect(ok.statusCode).toBe(201);
    const before = count();
    const tooLong = await post('/v1/assessments', submission(), { 'idempotency-key': 'k'.repeat(256) });
    const problem = expectProblem(tooLong, 400);
    expect(problem.errors?.some((e) => e.field.includes('idempotency-key'))).toBe(true);
    expect(count()).toBe(before);
  });

  it('does not remember a key whose submission was refused', async () => {
    const key = 'refused-then-fixed';
    const bad = await post('/v1/assessments', submission({ companySize: 'mega-corp' }), { 'idempotency-key': key });
    expect(bad.statusCode).toBe(422);
    const good = await post('/v1/assessments', submission(), { 'idempotency-key': key });
    expect(good.statusCode).toBe(201);
    expect(good.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('POST /v1/assessments/preview', () => {
  it('scores like POST /v1/assessments but stores nothing and has no id', async () => {
    const payload = submission({ companySize: 'big-tech', respondent: 'preview' });
    const before = count();
    const preview = await post('/v1/assessments/preview', payload);
    expect(preview.statusCode).toBe(200);
    expect(preview.headers.location).toBeUndefined();
    const body = preview.json();
    expect(body.id).toBeUndefined();
    expect(body.createdAt).toBeUndefined();
    expect(count()).toBe(before);

    const created = (await post('/v1/assessments', payload)).json();
    expect(body.result).toEqual(created.result);
    expect(body.answers).toEqual(created.answers);
    expect(body.companySize).toBe('big-tech');
    expect(body.respondent).toBe('preview');
  });

  it('refuses bad submissions exactly as POST /v1/assessments does', async () => {
    const bad = [
      submission({ companySize: 'mega-corp' }),
      submission({}, 3),
      { answers: [{ questionId: QUESTIONS[0]!.id, value: 7 }] },
      submission({ extra: true }),
    ];
    for (const payload of bad) {
      const before = count();
      const preview = await post('/v1/assessments/preview', payload);
      const create = await post('/v1/assessments', payload);
      expect(preview.statusCode).toBeGreaterThanOrEqual(400);
      expect(preview.statusCode).toBe(create.statusCode);
      expect(preview.json().errors).toEqual(create.json().errors);
      expect(count()).toBe(before);
    }
    expect((await post('/v1/assessments/preview', '{nope')).statusCode).toBe(400);
  });
});

describe('GET /v1/assessments/{id}', () => {
  it('answers 404 for an unknown UUID', async () => {
    const problem = expectProblem(await get('/v1/assessments/2f1c7d0e-8b4a-4c3e-9d2f-1a2b3c4d5e6f'), 404);
    expect(problem.code).toBe('not-found');
  });

  it.each(['not-a-uuid', '12345', '2f1c7d0e-8b4a-4c3e-9d2f-1a2b3c4d5e6', "1' or '1'='1"])(
    'answers 400 for the malformed id %s',
    async (id) => {
      const problem = expectProblem(await get(`/v1/assessments/${encodeURIComponent(id)}`), 400);
      expect(problem.errors?.some((e) => e.field.includes('id'))).toBe(true);
    },
  );
});
