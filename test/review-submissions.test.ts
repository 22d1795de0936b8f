import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';
import { responseProblems } from './support/openapi.js';

// From a review of the submission routes.

let app: Awaited<ReturnType<typeof buildTestApp>>;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

async function post(url: string, payload: unknown) {
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(payload),
  });
  expect(responseProblems('POST', url, response.statusCode, response.headers['content-type'] as string, response.body)).toEqual([]);
  return response;
}

function problemOf(response: LightMyRequestResponse, status: number) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toContain('application/problem+json');
  return response.json() as { code: string; errors?: { field: string; message: string }[] };
}

describe('the batch envelope', () => {
  // Guards against: a body without `items` was told `items` "must be an array", where every other
  // missing field is told it "is required".
  it('says a missing items list is required', async () => {
    const problem = problemOf(await post('/v1/assessments/batch', {}), 400);
    expect(problem.code).toBe('validation-error');
    expect(problem.errors).toEqual([{ field: 'body.items', message: 'is required' }]);
    const withOther = problemOf(await post('/v1/assessments/batch', { submissions: [] }), 400);
    expect(withOther.errors).toEqual([
      { field: 'body.items', message: 'is required' },
      { field: 'body.submissions', message: 'unknown field' },
    ]);
  });

  it('still says items that are not a list must be an array', async () => {
    const problem = problemOf(await post('/v1/assessments/batch', { items: {} }), 400);
    expect(problem.errors).toEqual([{ field: 'body.items', message: 'must be an array' }]);
  });
});
