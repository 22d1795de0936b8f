import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { loadContent } from '../src/content/load.js';
import { projectRoot } from '../src/paths.js';
import { buildTestApp } from './helpers.js';
import { editJson, TempDirs } from './support/fixtures.js';
import { getDocumented } from './support/openapi.js';

// ---- the seed content, read raw so the expectations do not depend on the loader ----

type SeedCitation = { source: string; claim: string };
type SeedEntry = { role: string; competency: string; level: number; rationale: string; editorial?: boolean; citations?: SeedCitation[] };
type SeedVariant = SeedEntry & { companySize: string };
type SeedCompetency = { slug: string; name: string; category: string; description: string };

function seed<T>(file: string): T {
  return JSON.parse(readFileSync(join(projectRoot, 'seed', file), 'utf8')) as T;
}

const release = seed<{ release: string }>('release.json').release;
const roles = seed<{ slug: string; name: string }[]>('roles.json');
const competencies = seed<SeedCompetency[]>('competencies.json');
const sizes = seed<{ slug: string }[]>('company-sizes.json');
const sources = seed<{ id: string; title: string; kind: string }[]>('sources.json');
const expectations = seed<SeedEntry[]>('expectations.json');
const variants = seed<SeedVariant[]>('variants.json');

/** The categories the design names, in its order. */
const CATEGORIES = ['technical', 'people', 'delivery', 'communication', 'strategy'];

function baselineLevel(role: string, competency: string): number {
  const found = expectations.find((e) => e.role === role && e.competency === competency);
  if (!found) throw new Error(`seed has no expectation for ${role}/${competency}`);
  return found.level;
}

function variantLevel(role: string, competency: string, size: string): number | undefined {
  return variants.find((v) => v.role === role && v.competency === competency && v.companySize === size)?.level;
}

/** The level a role expects of a competency at a size (null: the baseline), from the seed files. */
function levelAt(role: string, competency: string, size: string | null): number {
  return (size === null ? undefined : variantLevel(role, competency, size)) ?? baselineLevel(role, competency);
}

function matchesText(c: SeedCompetency, q: string): boolean {
  const needle = q.toLowerCase();
  return c.name.toLowerCase().includes(needle) || c.description.toLowerCase().includes(needle);
}

/** The items GET /v1/competencies should list for a role filter, built from the seed files. */
function withRole(list: SeedCompetency[], role: string, minLevel: number, size: string | null) {
  return list.filter((c) => levelAt(role, c.slug, size) >= minLevel).map((c) => ({ ...c, level: levelAt(role, c.slug, size) }));
}

function citationsView(citations: SeedCitation[] | undefined) {
  return (citations ?? []).map((c) => {
    const source = sources.find((s) => s.id === c.source);
    if (!source) throw new Error(`seed cites unknown source ${c.source}`);
    return { source: source.id, claim: c.claim };
  });
}

// ---- request helpers ----

let app: App;
const temp = new TempDirs();

beforeAll(async () => {
  app = await buildTestApp();
});

afterAll(async () => {
  await app.close();
  temp.cleanup();
});

type Response = Awaited<ReturnType<App['inject']>>;

/** GETs a URL and checks that the response matches what the committed OpenAPI document promises. */
const get = (url: string): Promise<Response> => getDocumented(app, url);

type Page = { items: (SeedCompetency & { level?: number })[]; total: number; limit: number; offset: number };

async function list(query: string): Promise<Page> {
  const response = await get(`/v1/competencies${query}`);
  expect(response.statusCode, response.body).toBe(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  return response.json() as Page;
}

type Problem = { status: number; errors?: { field: string; message: string }[] };

function expectProblem(response: Response, status: number, fields: string[] = []): Problem {
  expect(response.statusCode, response.body).toBe(status);
  expect(String(response.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = response.json() as Problem;
  expect(body.status).toBe(status);
  expect(body).not.toHaveProperty('stack');
  const named = (body.errors ?? []).map((e) => e.field);
  for (const field of fields) expect(named, `errors[] should name ${field}`).toContain(field);
  return body;
}

const page = (items: unknown[], limit = 50, offset = 0) => ({
  items: items.slice(offset, offset + limit),
  total: items.length,
  limit,
  offset,
});

// ---- GET /v1/competencies ----

describe('GET /v1/competencies', () => {
  it('without filters lists every competency of competencies.json in seed order, without a level', async () => {
    const body = await list('');
    expect(body).toEqual(page(competencies));
    expect(body.total).toBe(competencies.length);
    for (const item of body.items) expect(item).not.toHaveProperty('level');
  });

  describe('category', () => {
    it('the seed uses exactly the categories of the design', () => {
      expect([...new Set(competencies.map((c) => c.category))].sort()).toEqual([...CATEGORIES].sort());
    });

    it.each(CATEGORIES)('category=%s returns exactly the seed competencies of that category', async (category) => {
      const expected = competencies.filter((c) => c.category === category);
      expect(expected.length).toBeGreaterThan(0);
      expect(await list(`?category=${category}`)).toEqual(page(expected));
    });
  });

  describe('q', () => {
    it.each(['code', 'CODE', 'Code', 'HIRING', 'team', 'Hands-On', 'stakeholder'])(
      'q=%s searches name and description case-insensitively',
      async (q) => {
        const expected = competencies.filter((c) => matchesText(c, q));
        expect(expected.length, `q=${q} should match something in the seed`).toBeGreaterThan(0);
        expect(expected.length).toBeLessThan(competencies.length);
        expect(await list(`?q=${encodeURIComponent(q)}`)).toEqual(page(expected));
      },
    );

    it('gives the same result for q=code and q=CODE', async () => {
      const lower = await list('?q=code');
      const upper = await list('?q=CODE');
      expect(upper).toEqual(lower);
      expect(lower.total).toBeGreaterThan(0);
    });

    it('finds competencies through their description, not only their name', async () => {
      const onlyInDescription = competencies.filter((c) => !c.name.toLowerCase().includes('code') && matchesText(c, 'code'));
      expect(onlyInDescription.length).toBeGreaterThan(0);
      const slugs = (await list('?q=code')).items.map((c) => c.slug);
      for (const c of onlyInDescription) expect(slugs).toContain(c.slug);
    });

    it('returns empty items and total 0 when nothing matches', async () => {
      expect(competencies.filter((c) => matchesText(c, 'zzqxnomatch'))).toEqual([]);
      expect(await list('?q=zzqxnomatch')).toEqual({ items: [], total: 0, limit: 50, offset: 0 });
    });
  });

  describe('role and minLevel', () => {
    describe.each(roles.map((r) => r.slug))('role=%s', (role) => {
      it.each([0, 1, 2, 3, 4])(
        'minLevel=%i keeps exactly the competencies whose baseline level is at least that, with their level',
        async (minLevel) => {
          const body = await list(`?role=${role}&minLevel=${minLevel}`);
          expect(body).toEqual(page(withRole(competencies, role, minLevel, null)));
          for (const item of body.items) expect(item.level).toBe(baselineLevel(role, item.slug));
        },
      );

      it('role alone means minLevel 1', async () => {
        const alone = await list(`?role=${role}`);
        expect(alone).toEqual(await list(`?role=${role}&minLevel=1`));
        expect(alone).toEqual(page(withRole(competencies, role, 1, null)));
      });

      it.each(sizes.map((s) => s.slug))('companySize=%s judges levels at that size for every minLevel', async (size) => {
        for (const minLevel of [0, 1, 2, 3, 4]) {
          const body = await list(`?role=${role}&minLevel=${minLevel}&companySize=${size}`);
          expect(body, `minLevel=${minLevel}`).toEqual(page(withRole(competencies, role, minLevel, size)));
        }
      });
    });

    it('a stricter minLevel keeps fewer competencies (the filter does something)', async () => {
      const role = 'tech-lead';
      const all = await list(`?role=${role}&minLevel=0`);
      const top = await list(`?role=${role}&minLevel=4`);
      expect(all.total).toBe(competencies.length);
      expect(top.total).toBe(competencies.filter((c) => baselineLevel(role, c.slug) >= 4).length);
      expect(top.total).toBeLessThan(all.total);
    });

    it('engineering-manager hands-on-coding: kept or dropped by minLevel according to its startup variant and its big-tech level', async () => {
      const startup = levelAt('engineering-manager', 'hands-on-coding', 'startup');
      const bigTech = levelAt('engineering-manager', 'hands-on-coding', 'big-tech');
      // The seed makes the manager code more at a startup than in big tech; the threshold sits between the two.
      expect(startup).toBeGreaterThan(bigTech);
      const threshold = startup;
      const at = async (size: string) =>
        (await list(`?role=engineering-manager&minLevel=${threshold}&companySize=${size}`)).items.find((c) => c.slug === 'hands-on-coding');
      expect(await at('startup')).toEqual({ ...competencies.find((c) => c.slug === 'hands-on-coding'), level: startup });
      expect(await at('big-tech')).toBeUndefined();
    });

    it('role alone drops a level-0 competency, minLevel=0 keeps it with level 0', async () => {
      // The seed has no level 0 today (every role touches every competency at least now and then), so a
      // copy of it gets one: an editorial big-tech variant that takes the manager's hands-on coding to 0.
      expect(competencies.filter((c) => levelAt('engineering-manager', c.slug, 'big-tech') === 0)).toEqual([]);
      const folder = temp.seedCopy();
      editJson(folder, 'variants.json', (d) => [
        ...d,
        {
          role: 'engineering-manager',
          competency: 'hands-on-coding',
          companySize: 'big-tech',
          level: 0,
          rationale: 'A level-0 entry added for this test.',
          editorial: true,
        },
      ]);
      const zeroApp = await buildTestApp({ content: loadContent(folder) });
      try {
        const listed = async (query: string) => {
          const response = await getDocumented(zeroApp, `/v1/competencies${query}`);
          expect(response.statusCode, response.body).toBe(200);
          return response.json() as Page;
        };
        const alone = (await listed('?role=engineering-manager&companySize=big-tech')).items.map((c) => c.slug);
        const all = await listed('?role=engineering-manager&companySize=big-tech&minLevel=0');
        expect(alone).not.toContain('hands-on-coding');
        expect(alone).toHaveLength(competencies.length - 1);
        expect(all.items.find((i) => i.slug === 'hands-on-coding')?.level).toBe(0);
        expect(all.total).toBe(competencies.length);
      } finally {
        await zeroApp.close();
      }
    });
  });

  describe('combined filters', () => {
    it('category + role + minLevel', async () => {
      const expected = withRole(
        competencies.filter((c) => c.category === 'technical'),
        'engineering-manager',
        2,
        null,
      );
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(competencies.filter((c) => c.category === 'technical').length);
      expect(await list('?category=technical&role=engineering-manager&minLevel=2')).toEqual(page(expected));
    });

    it('category + role (minLevel defaults to 1)', async () => {
      for (const category of CATEGORIES) {
        const expected = withRole(
          competencies.filter((c) => c.category === category),
          'tech-lead',
          1,
          null,
        );
        expect(await list(`?category=${category}&role=tech-lead`), category).toEqual(page(expected));
      }
    });

    it('q + role + companySize', async () => {
      const expected = withRole(
        competencies.filter((c) => matchesText(c, 'code')),
        'engineering-manager',
        1,
        'big-tech',
      );
      expect(await list('?q=code&role=engineering-manager&companySize=big-tech')).toEqual(page(expected));
    });
  });

  describe('pagination', () => {
    it('pages with limit and offset and reports the full total', async () => {
      expect(await list('?limit=5')).toEqual(page(competencies, 5, 0));
      expect(await list('?limit=5&offset=5')).toEqual(page(competencies, 5, 5));
      expect(await list(`?limit=5&offset=${competencies.length - 2}`)).toEqual(page(competencies, 5, competencies.length - 2));
    });

    it('pages a filtered list, with the total of the filtered list', async () => {
      const people = competencies.filter((c) => c.category === 'people');
      expect(people.length).toBeGreaterThan(2);
      expect(await list('?category=people&limit=2&offset=1')).toEqual(page(people, 2, 1));
    });

    it('gives empty items with the right total past the end', async () => {
      expect(await list(`?offset=${competencies.length}`)).toEqual({
        items: [],
        total: competencies.length,
        limit: 50,
        offset: competencies.length,
      });
    });
  });

  describe('errors', () => {
    it.each([
      ['role=tech-lead&minLevel=7', 'querystring.minLevel'],
      ['role=tech-lead&minLevel=-1', 'querystring.minLevel'],
      ['role=tech-lead&minLevel=two', 'querystring.minLevel'],
      ['role=tech-lead&minLevel=1.5', 'querystring.minLevel'],
      ['minLevel=2', 'querystring.minLevel'],
      ['companySize=startup', 'querystring.companySize'],
      ['category=nope', 'querystring.category'],
      ['category=Technical', 'querystring.category'],
      ['limit=1000', 'querystring.limit'],
      ['limit=0', 'querystring.limit'],
      ['offset=-1', 'querystring.offset'],
      ['role=Tech_Lead', 'querystring.role'],
      ['role=tech-lead&companySize=Big_Tech', 'querystring.companySize'],
    ])('?%s is a 400 problem naming %s', async (query, field) => {
      expectProblem(await get(`/v1/competencies?${query}`), 400, [field]);
    });

    it('an unknown query parameter is a 400 problem', async () => {
      expectProblem(await get('/v1/competencies?level=3'), 400);
    });

    it('an unknown role is a 404 problem naming querystring.role', async () => {
      const body = expectProblem(await get('/v1/competencies?role=product-manager'), 404);
      expect(body.errors?.[0]?.field).toBe('querystring.role');
    });

    it('an unknown companySize is a 404 problem naming querystring.companySize', async () => {
      const body = expectProblem(await get('/v1/competencies?role=tech-lead&companySize=enterprise'), 404);
      expect(body.errors?.[0]?.field).toBe('querystring.companySize');
    });

    it('lists every bad parameter at once', async () => {
      const body = expectProblem(await get('/v1/competencies?category=nope&minLevel=9&limit=0&offset=-1'), 400, [
        'querystring.category',
        'querystring.minLevel',
        'querystring.limit',
        'querystring.offset',
      ]);
      expect(body.errors?.length).toBeGreaterThanOrEqual(4);
    });
  });
});

// ---- GET /v1/competencies/{competency} ----

describe('GET /v1/competencies/{competency}', () => {
  describe.each(['hiring', 'hands-on-coding'])('%s', (slug) => {
    const competency = competencies.find((c) => c.slug === slug);

    it('exists in competencies.json', () => {
      expect(competency).toBeDefined();
    });

    it('gives the competency, the kbRelease and every role in seed order with its baseline level', async () => {
      const response = await get(`/v1/competencies/${slug}`);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      const body = response.json();
      expect(body).toMatchObject({ ...competency, kbRelease: release });
      expect(body.roles.map((r: { role: string }) => r.role)).toEqual(roles.map((r) => r.slug));
      for (const r of body.roles) {
        expect(r.name).toBe(roles.find((x) => x.slug === r.role)?.name);
        expect(r.baselineLevel, r.role).toBe(baselineLevel(r.role, slug));
      }
    });

    it('gives every company size in order, with the variant level (overridden) or the baseline (not overridden)', async () => {
      const body = (await get(`/v1/competencies/${slug}`)).json();
      for (const r of body.roles) {
        expect(r.byCompanySize, r.role).toEqual(
          sizes.map((size) => {
            const variant = variantLevel(r.role, slug, size.slug);
            return { companySize: size.slug, level: variant ?? baselineLevel(r.role, slug), overridden: variant !== undefined };
          }),
        );
      }
    });

    it("carries each role's baseline rationale, editorial flag and citations from the seed", async () => {
      const body = (await get(`/v1/competencies/${slug}`)).json();
      for (const r of body.roles) {
        const e = expectations.find((x) => x.role === r.role && x.competency === slug);
        expect(r.rationale, r.role).toBe(e?.rationale);
        expect(r.editorial, r.role).toBe(e?.editorial ?? false);
        expect(r.citations, r.role).toEqual(citationsView(e?.citations));
      }
    });
  });

  it('hands-on-coding has overrides to show (the test above is not vacuous)', async () => {
    const overrides = variants.filter((v) => v.competency === 'hands-on-coding');
    expect(overrides.length).toBeGreaterThan(0);
    const body = (await get('/v1/competencies/hands-on-coding')).json();
    for (const v of overrides) {
      const entry = body.roles
        .find((r: { role: string }) => r.role === v.role)
        .byCompanySize.find((s: { companySize: string }) => s.companySize === v.companySize);
      expect(entry).toEqual({ companySize: v.companySize, level: v.level, overridden: true });
    }
  });

  it('answers an unknown competency with a 404 problem naming params.competency', async () => {
    const body = expectProblem(await get('/v1/competencies/juggling'), 404);
    expect(body.errors?.[0]).toEqual({ field: 'params.competency', message: 'unknown competency "juggling"' });
  });

  // Guards against: a slug a letter or two off (22 competencies are too many to list) was told only
  // that it was unknown.
  it.each([
    ['hirng', 'hiring'],
    ['code-reveiw', 'code-review'],
    ['technical-mentorng', 'technical-mentoring'],
  ])('names the competency %s was likely meant as', async (typed, meant) => {
    const body = expectProblem(await get(`/v1/competencies/${typed}`), 404);
    expect(body.errors).toEqual([{ field: 'params.competency', message: `unknown competency "${typed}"; did you mean ${meant}?` }]);
  });

  it.each(['Hiring', 'hands_on_coding', 'a'.repeat(65), 'hiring-'])(
    'answers a malformed slug (%s) with a 400 problem naming params.competency',
    async (slug) => {
      expectProblem(await get(`/v1/competencies/${encodeURIComponent(slug)}`), 400, ['params.competency']);
    },
  );
});
