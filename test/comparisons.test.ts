import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';
import { readSeedJson } from './support/fixtures.js';
import { document, responseProblems } from './support/openapi.js';

let app: Awaited<ReturnType<typeof buildTestApp>>;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await app.inject({ url, headers });
  expect(responseProblems('GET', url, response.statusCode, response.headers['content-type'] as string, response.body)).toEqual([]);
  return response;
}

const PAIR = 'roles=tech-lead,engineering-manager';

type SeedLevel = { role: string; competency: string; companySize?: string; level: number };
const seedExpectations = readSeedJson<SeedLevel[]>('expectations.json');
const seedVariants = readSeedJson<SeedLevel[]>('variants.json');
/** A level as the seed files give it, read apart from the app: the size's variant, else the baseline. */
function seedLevel(role: string, competency: string, companySize?: string): number {
  const at = (list: SeedLevel[], size?: string) =>
    list.find((e) => e.role === role && e.competency === competency && e.companySize === size)?.level;
  const level = (companySize === undefined ? undefined : at(seedVariants, companySize)) ?? at(seedExpectations);
  if (level === undefined) throw new Error(`no level in seed/ for ${role} × ${competency}`);
  return level;
}

describe('GET /v1/comparisons', () => {
  it('compares two roles at the baseline', async () => {
    const response = await get(`/v1/comparisons?${PAIR}`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.roles.map((r: { slug: string }) => r.slug)).toEqual(['tech-lead', 'engineering-manager']);
    expect(body.companySize).toBeNull();
    expect(body.kbRelease).toBe(app.kb.release.id);
    expect(body.competencies).toHaveLength(app.kb.data.competencies.length);
    for (const row of body.competencies) {
      const levels = row.levels.map((l: { level: number }) => l.level);
      expect(row.spread).toBe(Math.max(...levels) - Math.min(...levels));
      for (const l of row.levels) expect(l.level).toBe(seedLevel(l.role, row.competency.slug));
    }
    const meanSpread = body.competencies.reduce((s: number, c: { spread: number }) => s + c.spread, 0) / body.competencies.length;
    expect(body.similarity).toBeCloseTo(1 - meanSpread / 4, 4);
    expect(body.pairwise).toEqual([{ roles: ['tech-lead', 'engineering-manager'], similarity: body.similarity }]);
  });

  it('applies company-size variants and names the size used', async () => {
    const body = (await get(`/v1/comparisons?${PAIR}&companySize=startup`)).json();
    expect(body.companySize).toBe('startup');
    const coding = body.competencies.find((c: { competency: { slug: string } }) => c.competency.slug === 'hands-on-coding');
    const em = coding.levels.find((l: { role: string }) => l.role === 'engineering-manager');
    expect(em.level).toBe(seedLevel('engineering-manager', 'hands-on-coding', 'startup'));
    expect(em.baselineLevel).toBe(seedLevel('engineering-manager', 'hands-on-coding'));
    expect(em.level).not.toBe(em.baselineLevel);
  });

  it('filters by category', async () => {
    const body = (await get(`/v1/comparisons?${PAIR}&category=people`)).json();
    expect(body.category).toBe('people');
    expect(body.competencies.length).toBeGreaterThan(0);
    expect(body.competencies.every((c: { competency: { category: string } }) => c.competency.category === 'people')).toBe(true);
  });

  it('keeps the numbers when the roles are given in the other order', async () => {
    const a = (await get(`/v1/comparisons?${PAIR}`)).json();
    const b = (await get('/v1/comparisons?roles=engineering-manager,tech-lead')).json();
    expect(b.similarity).toBe(a.similarity);
    expect(b.summary.shared).toEqual(a.summary.shared);
    expect(b.competencies.map((c: { leader: string }) => c.leader)).toEqual(a.competencies.map((c: { leader: string }) => c.leader));
  });

  it.each([
    ['one role', 'roles=tech-lead'],
    ['six roles', 'roles=a,b,c,d,e,f'],
    ['a repeated role', 'roles=tech-lead,tech-lead'],
    ['no roles', ''],
    ['an empty role', 'roles=tech-lead,'],
    ['a malformed slug', 'roles=tech-lead,Engineering%20Manager'],
    ['an unknown category', `${PAIR}&category=magic`],
    ['an unknown parameter', `${PAIR}&colour=blue`],
  ])('answers 400 for %s', async (_, query) => {
    const response = await get(`/v1/comparisons?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json().errors.length).toBeGreaterThan(0);
  });

  // Guards against (from a review): roles sent separated by a plus sign (a space once decoded) were told
  // that roles[0] is no slug and that 2 roles are needed, with no word of the commas.
  it('says that roles are separated by commas when they come separated otherwise', async () => {
    const response = await get('/v1/comparisons?roles=tech-lead+engineering-manager');
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toContainEqual({
      field: 'querystring.roles',
      message: 'needs at least 2 roles, separated by commas (roles=tech-lead,engineering-manager)',
    });
  });

  it('answers 404 naming an unknown role or company size', async () => {
    const role = await get('/v1/comparisons?roles=tech-lead,astronaut');
    expect(role.statusCode).toBe(404);
    expect(role.json().detail).toContain('astronaut');
    expect(role.json().errors[0].field).toBe('querystring.roles[1]');
    const size = await get(`/v1/comparisons?${PAIR}&companySize=galactic`);
    expect(size.statusCode).toBe(404);
    expect(size.json().errors[0].field).toBe('querystring.companySize');
  });

  it('sends an ETag and answers If-None-Match with 304', async () => {
    const first = await get(`/v1/comparisons?${PAIR}&companySize=big-tech`);
    const etag = first.headers.etag as string;
    expect(etag).toBeTruthy();
    expect(first.headers['cache-control']).toContain('max-age');
    const second = await get(`/v1/comparisons?${PAIR}&companySize=big-tech`, { 'if-none-match': etag });
    expect(second.statusCode).toBe(304);
    const other = await get(`/v1/comparisons?${PAIR}&companySize=startup`);
    expect(other.headers.etag).not.toBe(etag);
  });
});

// Guards against: the count of roles (2 to 5) was checked but said only in prose, so a client that
// checks its request against the document could not refuse one role or six before sending them.
describe('the roles parameter as the OpenAPI document declares it', () => {
  type Parameter = { name: string; schema: { pattern?: string } };
  const operation = document.paths['/v1/comparisons'].get as { parameters: Parameter[] };
  const pattern = operation.parameters.find((p) => p.name === 'roles')?.schema.pattern;

  it.each([
    'tech-lead,engineering-manager',
    ' tech-lead , engineering-manager ',
    'tech-lead\t,\u00a0engineering-manager',
    'tech-lead,engineering-manager,a,b,c',
    'tech-lead',
    'tech-lead,engineering-manager,a,b,c,d',
    'tech-lead,',
    ',tech-lead,engineering-manager',
    'tech-lead,,engineering-manager',
    'Tech-Lead,engineering-manager',
    'tech--lead,engineering-manager',
    `${'a'.repeat(64)},tech-lead`,
    `${'a'.repeat(65)},tech-lead`,
    `tech-lead,${'a'.repeat(30)}-${'b'.repeat(34)}`,
  ])('matches %j exactly when the API takes its form', async (roles) => {
    expect(pattern).toBeDefined();
    const response = await app.inject({ url: '/v1/comparisons', query: { roles } });
    // Unknown but well-formed slugs get 404: the form was taken.
    const taken = response.statusCode !== 400;
    expect(new RegExp(pattern as string, 'u').test(roles), `${roles}: ${response.statusCode}`).toBe(taken);
  });
});

describe('GET /v1/comparisons/by-company-size', () => {
  it('gives the baseline then every size in order, each equal to the single comparison', async () => {
    const body = (await get(`/v1/comparisons/by-company-size?${PAIR}`)).json();
    expect(body.trend.map((t: { companySize: string | null }) => t.companySize)).toEqual([null, 'startup', 'scale-up', 'big-tech']);
    for (const stage of body.comparisons) {
      const single = (await get(`/v1/comparisons?${PAIR}${stage.companySize ? `&companySize=${stage.companySize}` : ''}`)).json();
      expect(stage.similarity).toBe(single.similarity);
      expect(stage.summary).toEqual(single.summary);
      expect(stage.competencies).toEqual(single.competencies);
    }
  });

  it('validates its roles like the single comparison', async () => {
    expect((await get('/v1/comparisons/by-company-size?roles=tech-lead')).statusCode).toBe(400);
    expect((await get('/v1/comparisons/by-company-size?roles=tech-lead,nobody')).statusCode).toBe(404);
    expect((await get(`/v1/comparisons/by-company-size?${PAIR}&companySize=startup`)).statusCode).toBe(400);
  });
});

// What the sources say, pinned: if the content drifts from it, these fail.
describe('the comparison is true to the sources', () => {
  const summaryAt = async (size?: string) =>
    (await get(`/v1/comparisons?${PAIR}${size ? `&companySize=${size}` : ''}`)).json().summary as {
      shared: string[];
      distinctive: { role: string; competencies: string[] }[];
    };

  it('finds the common ground of both roles shared', async () => {
    const { shared } = await summaryAt();
    // Both set direction; both need communication for alignment, mentoring, project management,
    // ownership of the team's well-being and good meetings.
    for (const slug of [
      'vision-and-strategy',
      'communication-and-alignment',
      'technical-mentoring',
      'project-management',
      'team-ownership',
      'meeting-facilitation',
    ]) {
      expect(shared, slug).toContain(slug);
    }
  });

  it('finds hands-on technical work distinctive of the tech lead', async () => {
    const { distinctive } = await summaryAt();
    const tl = distinctive.find((d) => d.role === 'tech-lead')?.competencies;
    for (const slug of ['hands-on-coding', 'code-review', 'system-design', 'production-incident-response'])
      expect(tl, slug).toContain(slug);
  });

  it('finds people management and the wider stakeholders distinctive of the engineering manager', async () => {
    const { distinctive } = await summaryAt();
    const em = distinctive.find((d) => d.role === 'engineering-manager')?.competencies;
    for (const slug of ['hiring', 'performance-reviews', 'career-development', 'stakeholder-management']) expect(em, slug).toContain(slug);
  });

  it('finds the roles most alike at startups and least alike in big tech', async () => {
    const { trend } = (await get(`/v1/comparisons/by-company-size?${PAIR}`)).json();
    const at = Object.fromEntries(
      trend.map((t: { companySize: string | null; similarity: number }) => [t.companySize ?? 'baseline', t.similarity]),
    );
    expect(at.startup).toBeGreaterThan(at['scale-up']);
    expect(at['scale-up']).toBeGreaterThan(at['big-tech']);
    expect(at.startup).toBe(Math.max(...Object.values(at as Record<string, number>)));
    expect(at['big-tech']).toBe(Math.min(...Object.values(at as Record<string, number>)));
  });

  it('lets managers at startups still code and review', async () => {
    expect(app.kb.resolve('engineering-manager', 'hands-on-coding', 'startup').level).toBeGreaterThanOrEqual(2);
    expect(app.kb.resolve('engineering-manager', 'code-review', 'startup').level).toBeGreaterThanOrEqual(2);
    expect(app.kb.resolve('engineering-manager', 'hands-on-coding', 'big-tech').level).toBeLessThanOrEqual(1);
  });
});
