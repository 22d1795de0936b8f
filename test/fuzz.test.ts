import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_TYPES } from '../src/problem-types.js';
import { buildTestApp } from './helpers.js';
import {
  brokenRequest,
  type Domain,
  describeRequest,
  type FuzzRequest,
  faultsFor,
  inject,
  Ledger,
  type OperationSpec,
  operationSpecs,
  type Parts,
  render,
  sendAndCheck,
  targetName,
  targetsOf,
  validParts,
  validRequest,
} from './support/fuzz.js';
import { operations } from './support/openapi.js';

/** Replay a failing run with FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts */
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isSafeInteger(SEED)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(process.env.FUZZ_SEED)}`);
console.log(`fuzz seed: ${SEED} (replay with FUZZ_SEED=${SEED})`);

const VALID_RUNS = 1_000;
const BROKEN_RUNS = 2_500;
const MIN_REQUESTS = 5_000;

const ledger = new Ledger();
const ops = operationSpecs();
let app: Awaited<ReturnType<typeof buildTestApp>>;
let domain: Domain;
let keptAssessment: { id: string; body: string };

beforeAll(async () => {
  // Rate limiting off, and load shedding out of reach: on a busy CI machine a slow sample must not turn into 503s
  // here (test/limits.test.ts covers both).
  app = await buildTestApp({ rateLimit: { enabled: false, max: 1, windowMs: 1000 }, maxEventLoopDelayMs: 60_000 });
  const { data } = app.kb;
  const questionIds = data.questions.map((q) => q.id);
  // A few stored assessments, so that GET /v1/assessments/{id} can succeed.
  // As many again for DELETE to erase.
  const assessmentIds: string[] = [];
  const erasableIds: string[] = [];
  for (let i = 0; i < 10; i++) {
    const answers = questionIds.map((questionId, j) => ({ questionId, value: ((i + j) % 5) + 1 }));
    const response = await app.inject({ method: 'POST', url: '/v1/assessments', payload: { answers } });
    expect(response.statusCode).toBe(201);
    (i < 5 ? assessmentIds : erasableIds).push(response.json().id);
  }
  // One more, never offered to the fuzzer (whose DELETEs erase some of those above), read back at the end.
  const kept = await app.inject({
    method: 'POST',
    url: '/v1/assessments',
    payload: { answers: questionIds.map((questionId) => ({ questionId, value: 4 })) },
  });
  expect(kept.statusCode).toBe(201);
  keptAssessment = { id: kept.json().id, body: kept.body };
  const words = [...new Set(data.competencies.flatMap((c) => c.name.toLowerCase().split(/\W+/)).filter((w) => w.length > 2))];
  domain = {
    roles: data.roles.map((r) => r.slug),
    competencies: data.competencies.map((c) => c.slug),
    companySizes: data.companySizes.map((s) => s.slug),
    sources: data.sources.map((s) => s.id),
    questionIds,
    assessmentIds,
    erasableIds,
    words: [...words, 'zzzz-no-match'],
    problemCodes: Object.keys(PROBLEM_TYPES),
    instrumentVersions: [app.kb.release.instrumentVersion],
  };
});

afterAll(async () => {
  await app?.close();
});

const send = (request: FuzzRequest) => sendAndCheck(app, request, ledger);

describe('fuzzing every documented operation', () => {
  it('derives a generator for every operation of openapi/openapi.json', () => {
    const documented = operations().map((op) => op.operationId);
    expect(ops.map((op) => op.operationId).sort()).toEqual([...documented].sort());
    expect(documented.length).toBeGreaterThanOrEqual(15);
    // The body-taking operations are the three POSTs, and each has its injection points.
    const withBody = ops.filter((op) => op.body).map((op) => op.operationId);
    expect(withBody.sort()).toEqual(['createAssessment', 'createAssessmentBatch', 'previewAssessment']);
    for (const op of ops) expect(targetsOf(op).length).toBeGreaterThan(0);
  });

  it('has a response check that rejects what it is meant to catch', async () => {
    const request: FuzzRequest = {
      operationId: 'getRole',
      method: 'GET',
      url: '/v1/roles/tech-lead',
      headers: {},
      fault: 'valid',
      target: 'none',
    };
    const fake = (statusCode: number, headers: Record<string, string>, body: string) => ({
      inject: async () => ({ statusCode, headers, body }),
    });
    const problem = (extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        type: '/problems/x',
        title: 'X',
        status: 404,
        detail: 'd',
        instance: '/v1/roles/tech-lead',
        code: 'x',
        requestId: 'r',
        ...extra,
      });
    const headers = { 'content-type': 'application/problem+json', 'x-request-id': 'r' };
    const scratch = new Ledger();
    await expect(sendAndCheck(fake(404, headers, problem()), request, scratch)).resolves.toEqual({ status: 404 });
    const bad: [number, Record<string, string>, string, RegExp][] = [
      [500, headers, problem({ status: 500 }), /server error/],
      [404, { ...headers, 'content-type': 'text/html' }, '<h1>Not found</h1>', /content-type/],
      [404, headers, problem({ stack: 'Error: x' }), /stack field/],
      [404, headers, problem({ detail: 'Error: x\n    at handler (/work/main/src/routes/roles/index.ts:10:5)' }), /leaks/],
      [404, headers, problem({ requestId: undefined }), /no requestId/],
      [404, headers, problem({ status: 400 }), /differs/],
      [418, headers, problem({ status: 418 }), /not documented/],
      [200, { 'content-type': 'application/json; charset=utf-8' }, '{"slug":1}', /must have required property/],
    ];
    for (const [status, h, body, pattern] of bad) {
      await expect(sendAndCheck(fake(status, h, body), request, scratch), `${status} ${body.slice(0, 40)}`).rejects.toThrow(pattern);
    }
    // The failure names the request, so that it can be replayed.
    await expect(sendAndCheck(fake(500, headers, problem({ status: 500 })), request, scratch)).rejects.toThrow('GET "/v1/roles/tech-lead"');
  });

  it(`answers ${VALID_RUNS} valid requests drawn from the schemas as documented`, { timeout: 60_000 }, async () => {
    const successes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ops).chain((op) => validRequest(op, domain)),
        async (request) => {
          const { status } = await send(request);
          if (status < 300) successes.set(request.operationId, (successes.get(request.operationId) ?? 0) + 1);
        },
      ),
      { seed: SEED, numRuns: VALID_RUNS },
    );
    // The valid generators really are valid: every operation succeeded at least once.
    for (const op of ops) expect(successes.get(op.operationId) ?? 0, `${op.operationId} never answered 2xx`).toBeGreaterThan(0);
  });

  it(`answers ${BROKEN_RUNS} requests with one hostile value each without a server error`, { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ops).chain((op) => brokenRequest(op, domain)),
        async (request) => {
          await send(request);
        },
      ),
      { seed: SEED + 1, numRuns: BROKEN_RUNS },
    );
  });

  /** A valid request of the operation that really succeeds, to carry one hostile value at a time. */
  async function baseOf(op: OperationSpec): Promise<Parts> {
    const samples = fc.sample(validParts(op, domain), { seed: SEED + 2, numRuns: 40 });
    for (const parts of samples) {
      const request = render({ ...parts, headers: {} }, 'valid', 'base');
      const { status } = await send(request);
      if (status >= 200 && status < 300) return { ...parts, headers: {} };
    }
    throw new Error(`no successful base request found for ${op.operationId}`);
  }

  it('sweeps every catalogued fault through every injection point of every operation', { timeout: 60_000 }, async () => {
    let cases = 0;
    for (const op of ops) {
      const base = await baseOf(op);
      for (const target of targetsOf(op)) {
        for (const { fault, value } of faultsFor(target, base.body)) {
          const request = render(inject(base, target, value), fault, targetName(target));
          const { status } = await send(request);
          cases += 1;
          // A hostile path segment never names a resource.
          if (target.kind === 'path') expect([400, 404], describeRequest(request)).toContain(status);
          // Whatever replaces an answer's value, the submission is malformed.
          if (
            (op.operationId === 'createAssessment' || op.operationId === 'previewAssessment') &&
            targetName(target) === 'body-field:answers.0.value'
          ) {
            expect(status, describeRequest(request)).toBe(400);
          }
          // A body sent as another media type is refused as a whole.
          const mediaType = request.headers['content-type']?.split(';')[0];
          if (fault === 'wrong-content-type' && mediaType !== 'application/json') {
            expect([400, 415], describeRequest(request)).toContain(status);
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(1_000);
  });

  it('answers bodies nested 2,000 to 10,000 levels deep (well under the body limit) with a 4xx, with or without an Idempotency-Key', async () => {
    const failures: string[] = [];
    const posts = ops.filter((op) => op.body);
    for (const op of posts) {
      for (const depth of [2_000, 5_000, 10_000]) {
        const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const deepObject = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        const bodies =
          op.operationId === 'createAssessmentBatch'
            ? [`{"items":[${deep}]}`, `{"items":[{"answers":[],"x":${deepObject}}]}`]
            : [`{"answers":${deep}}`, `{"answers":[],"x":${deepObject}}`];
        for (const [i, payload] of bodies.entries()) {
          for (const key of [undefined, `deep-${op.operationId}-${depth}-${i}`]) {
            const headers: Record<string, string> = { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) };
            const request: FuzzRequest = {
              operationId: op.operationId,
              method: 'POST',
              url: op.template,
              headers,
              payload,
              fault: 'deep-nesting',
              target: 'body-whole',
            };
            try {
              await send(request);
            } catch (error) {
              failures.push(
                `${op.operationId} depth ${depth} (${payload.length} bytes) ${key ? 'with' : 'without'} Idempotency-Key: ${(error as Error).message.split('\n')[0]}`,
              );
            }
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('gave every fuzzed response the security headers and an X-Request-Id', () => {
    // The ledger is filled by the tests above: run alone, this one has nothing to look at.
    expect(ledger.requests).toBeGreaterThanOrEqual(MIN_REQUESTS);
    const missing = [...ledger.missingHeaders.entries()].map(([what, { count, example }]) => `${what} (${count}×), e.g. ${example}`);
    expect(missing).toEqual([]);
  });

  it(`sent at least ${MIN_REQUESTS} requests, and left the app intact`, async () => {
    console.log(`fuzz: ${ledger.requests} requests (seed ${SEED})\n${ledger.table()}`);
    console.log(`fuzz by operation: ${JSON.stringify(Object.fromEntries(ledger.byOperation))}`);
    console.log(`fuzz by injection point: ${JSON.stringify(Object.fromEntries(ledger.byTarget))}`);
    expect(ledger.requests).toBeGreaterThanOrEqual(MIN_REQUESTS);
    for (const op of ops) expect(ledger.byOperation.get(op.operationId) ?? 0, op.operationId).toBeGreaterThanOrEqual(50);
    // No `__proto__` / `constructor.prototype` payload reached Object.prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    // The tables are still there and answer as before.
    const roles = await app.inject('/v1/roles');
    expect(roles.statusCode).toBe(200);
    expect(roles.json().total).toBe(domain.roles.length);
    const stored = await app.inject(`/v1/assessments/${keptAssessment.id}`);
    expect([stored.statusCode, stored.body]).toEqual([200, keptAssessment.body]);
    // Nothing stored went missing but what a DELETE erased.
    const erased = app.repository.sqlite.prepare('select count(*) from erased_assessments').pluck().get() as number;
    expect(erased).toBeLessThanOrEqual(domain.erasableIds.length);
    expect(app.repository.countAssessments() + erased).toBeGreaterThanOrEqual(domain.assessmentIds.length + domain.erasableIds.length + 1);
    for (const id of domain.assessmentIds) expect((await app.inject(`/v1/assessments/${id}`)).statusCode).toBe(200);
  });
});
