import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadContent } from '../src/content/load.js';
import * as schema from '../src/db/schema.js';
import { buildTestApp } from './helpers.js';
import { editJson, TempDirs } from './support/fixtures.js';
import { listenLocally } from './support/http.js';
import { countStatements } from './support/statements.js';

// A guard, not a timing: the hot knowledge-base routes must answer from memory after start-up, so
// the caching cannot silently regress into SQL per request. Statements are counted at the driver,
// so SQL run through any handle counts, not only through the repository's methods.
let app: Awaited<ReturnType<typeof buildTestApp>>;
let statements: ReturnType<typeof countStatements>;
let base: string;
const temp = new TempDirs();
/** An instrument version seeded before the current one, so that its questions are read from a bank. */
const EARLIER_INSTRUMENT = 'guard-earlier';
beforeAll(async () => {
  const databasePath = join(temp.make('rc-sql-guard-'), 'api.sqlite');
  const folder = temp.seedCopy();
  editJson(folder, 'questions.json', (data) => ({ ...data, instrumentVersion: EARLIER_INSTRUMENT }));
  await (await buildTestApp({ databasePath, content: loadContent(folder) })).close();
  statements = countStatements();
  app = await buildTestApp({ databasePath });
  ({ base } = await listenLocally(app));
});
afterAll(async () => {
  await app.close();
  statements.restore();
  temp.cleanup();
});

const HOT_READS = [
  '/',
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
  `/v1/assessment/questions?version=${loadContent().instrumentVersion}`,
  `/v1/assessment/questions?version=${EARLIER_INSTRUMENT}`,
  '/v1/exports/knowledge-base',
  '/v1/exports/levels.csv',
  '/problems',
  '/problems/not-found',
];

it.each(HOT_READS)('%s runs no SQL after start-up, through Fastify and through the cached front', async (url) => {
  const before = statements.count;
  for (let i = 0; i < 3; i++) {
    expect((await app.inject(url)).statusCode).toBe(200);
    expect((await fetch(`${base}${url}`)).status).toBe(200);
  }
  expect(statements.count).toBe(before);
});

it('the cached front answered some of those reads, so both paths were guarded', () => {
  expect(app.cachedFront.answered).toBeGreaterThan(0);
});

it('counts statements, so the guard can fail: a stored-assessment read runs SQL', async () => {
  const before = statements.count;
  expect((await app.inject('/v1/assessments/3b241101-e2bb-4255-8caf-4136c566a962')).statusCode).toBe(404);
  expect(statements.count).toBeGreaterThan(before);
});

// Guards against: a guard that counted only the repository's own methods, blind to SQL run
// through its public sqlite and drizzle handles.
it('counts SQL run through the raw driver handle and through drizzle too', () => {
  const before = statements.count;
  app.repository.db.select().from(schema.roles).all();
  app.repository.sqlite.prepare('select count(*) from competencies').get();
  app.repository.sqlite.exec('select 1');
  expect(statements.count).toBe(before + 3);
});
