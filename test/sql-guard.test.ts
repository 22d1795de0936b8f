import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';

// A guard, not a timing: the hot knowledge-base routes must answer from memory after start-up, so
// the caching cannot silently regress into SQL per request.
let app: Awaited<ReturnType<typeof buildTestApp>>;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const HOT_READS = [
  '/v1/meta',
  '/v1/roles',
  '/v1/roles/tech-lead',
  '/v1/roles/engineering-manager?companySize=big-tech',
  '/v1/competencies',
  '/v1/competencies?category=people',
  '/v1/competencies?role=tech-lead&minLevel=3&companySize=startup',
  '/v1/competencies?q=review',
  '/v1/competencies/hiring',
  '/v1/company-sizes',
  '/v1/comparisons?roles=tech-lead,engineering-manager',
  '/v1/comparisons?roles=tech-lead,engineering-manager&companySize=scale-up',
  '/v1/comparisons/by-company-size?roles=tech-lead,engineering-manager',
  '/v1/assessment/questions',
];

it.each(HOT_READS)('%s runs no SQL after start-up', async (url) => {
  const before = app.repository.statementCount;
  for (let i = 0; i < 3; i++) {
    const response = await app.inject(url);
    expect(response.statusCode).toBe(200);
  }
  expect(app.repository.statementCount).toBe(before);
});

it('counts statements, so the guard can fail', async () => {
  const before = app.repository.statementCount;
  const response = await app.inject('/v1/assessments/3b241101-e2bb-4255-8caf-4136c566a962');
  expect(response.statusCode).toBe(404);
  expect(app.repository.statementCount).toBe(before + 1);
});
