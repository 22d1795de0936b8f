import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { projectRoot } from '../src/paths.js';
import { buildTestApp } from './helpers.js';
import { getDocumented } from './support/openapi.js';

// ---- the seed content, read raw so the expectations do not depend on the loader ----

type SeedCitation = { source: string; claim: string };
type SeedEntry = { role: string; competency: string; level: number; rationale: string; editorial?: boolean; citations?: SeedCitation[] };
type SeedVariant = SeedEntry & { companySize: string };

function seed<T>(file: string): T {
  return JSON.parse(readFileSync(join(projectRoot, 'seed', file), 'utf8')) as T;
}

const release = seed<{ release: string }>('release.json').release;
const roles = seed<{ slug: string; name: string; summary: string; typicalDay: string }[]>('roles.json');
const competencies = seed<{ slug: string; name: string; category: string; description: string }[]>('competencies.json');
const sizes = seed<{ slug: string }[]>('company-sizes.json');
const sources = seed<{ id: string; title: string; kind: string }[]>('sources.json');
const expectations = seed<SeedEntry[]>('expectations.json');
const variants = seed<SeedVariant[]>('variants.json');

const ROLES_UNDER_TEST = ['tech-lead', 'engineering-manager'];

function baselineOf(role: string, competency: string): SeedEntry {
  const found = expectations.find((e) => e.role === role && e.competency === competency);
  if (!found) throw new Error(`seed has no expectation for ${role}/${competency}`);
  return found;
}

function variantOf(role: string, competency: string, size: string | null): SeedVariant | undefined {
  if (size === null) return undefined;
  return variants.find((v) => v.role === role && v.competency === competency && v.companySize === size);
}

function citationsView(citations: SeedCitation[] | undefined) {
  return (citations ?? []).map((c) => {
    const source = sources.find((s) => s.id === c.source);
    if (!source) throw new Error(`seed cites unknown source ${c.source}`);
    return { source: source.id, claim: c.claim };
  });
}

/** What GET /v1/roles/{role}?companySize= should say about one competency, built from the seed files. */
function expectedExpectation(role: string, competency: (typeof competencies)[number], size: string | null) {
  const baseline = baselineOf(role, competency.slug);
  const variant = variantOf(role, competency.slug, size);
  const applied = variant ?? baseline;
  return {
    competency: { slug: competency.slug, name: competency.name, category: competency.category },
    level: applied.level,
    baselineLevel: baseline.level,
    variant: variant
      ? {
          companySize: variant.companySize,
          level: variant.level,
          rationale: variant.rationale,
          editorial: variant.editorial ?? false,
          citations: citationsView(variant.citations),
        }
      : null,
    rationale: applied.rationale,
    editorial: applied.editorial ?? false,
    citations: citationsView(applied.citations),
  };
}

// ---- request helpers ----

let app: App;

beforeAll(async () => {
  app = await buildTestApp();
});

afterAll(async () => {
  await app.close();
});

type Response = Awaited<ReturnType<App['inject']>>;

/** GETs a URL and checks that the response matches what the committed OpenAPI document promises. */
const get = (url: string): Promise<Response> => getDocumented(app, url);

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

// ---- GET /v1/roles ----

describe('GET /v1/roles', () => {
  it('lists every role of roles.json in seed order, with the default page (limit 50, offset 0)', async () => {
    const response = await get('/v1/roles');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({ items: roles, total: roles.length, limit: 50, offset: 0 });
  });

  it('includes the two roles under test', async () => {
    const slugs = (await get('/v1/roles')).json().items.map((r: { slug: string }) => r.slug);
    for (const slug of ROLES_UNDER_TEST) expect(slugs).toContain(slug);
  });

  it('returns the first role alone with limit=1, and the real total', async () => {
    const response = await get('/v1/roles?limit=1');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: roles.slice(0, 1), total: roles.length, limit: 1, offset: 0 });
  });

  it('skips the first role with offset=1', async () => {
    const response = await get('/v1/roles?offset=1');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: roles.slice(1), total: roles.length, limit: 50, offset: 1 });
  });

  it('pages one role at a time with limit=1&offset=1', async () => {
    const response = await get('/v1/roles?limit=1&offset=1');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: roles.slice(1, 2), total: roles.length, limit: 1, offset: 1 });
  });

  it('accepts limit=200, the largest page', async () => {
    const response = await get('/v1/roles?limit=200');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: roles, total: roles.length, limit: 200, offset: 0 });
  });

  it.each([roles.length, roles.length + 1, 1000])('gives empty items and the right total with offset=%i, past the end', async (offset) => {
    const response = await get(`/v1/roles?offset=${offset}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: [], total: roles.length, limit: 50, offset });
  });

  it.each([
    ['limit=0', 'querystring.limit'],
    ['limit=201', 'querystring.limit'],
    ['limit=abc', 'querystring.limit'],
    ['limit=1.5', 'querystring.limit'],
    ['limit=-1', 'querystring.limit'],
    ['offset=-1', 'querystring.offset'],
    ['offset=abc', 'querystring.offset'],
  ])('rejects %s with a 400 problem naming %s', async (query, field) => {
    const body = expectProblem(await get(`/v1/roles?${query}`), 400, [field]);
    expect(body.errors?.length).toBe(1);
  });

  it('lists every bad pagination parameter at once', async () => {
    expectProblem(await get('/v1/roles?limit=0&offset=-1'), 400, ['querystring.limit', 'querystring.offset']);
  });

  it('rejects an unknown query parameter with a 400 problem that mentions it', async () => {
    const body = expectProblem(await get('/v1/roles?colour=blue'), 400);
    expect(body.errors?.length).toBeGreaterThan(0);
    const mentions = (body.errors ?? []).some((e) => e.field.startsWith('querystring') && `${e.field} ${e.message}`.includes('colour'));
    expect(mentions, JSON.stringify(body.errors)).toBe(true);
  });
});

// ---- GET /v1/roles/{role} ----

describe('GET /v1/roles/{role}', () => {
  describe.each(ROLES_UNDER_TEST)('%s', (slug) => {
    const role = roles.find((r) => r.slug === slug);

    it('exists in roles.json', () => {
      expect(role).toBeDefined();
    });

    it('without companySize: the role, companySize null, kbRelease from release.json, one baseline expectation per competency', async () => {
      const response = await get(`/v1/roles/${slug}`);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      const body = response.json();
      expect(body).toMatchObject({ ...role, companySize: null, kbRelease: release });
      expect(body.expectations.map((e: { competency: { slug: string } }) => e.competency.slug)).toEqual(competencies.map((c) => c.slug));
      for (const e of body.expectations) {
        expect(e.variant, e.competency.slug).toBeNull();
        expect(e.level, e.competency.slug).toBe(e.baselineLevel);
        expect(e.level, e.competency.slug).toBe(baselineOf(slug, e.competency.slug).level);
      }
    });

    it('without companySize: every expectation matches the seed (level, rationale, editorial flag, citations with their sources)', async () => {
      const body = (await get(`/v1/roles/${slug}`)).json();
      expect(body.expectations).toEqual(competencies.map((c) => expectedExpectation(slug, c, null)));
    });

    describe.each(sizes.map((s) => s.slug))('with companySize=%s', (size) => {
      it('applies every variant of variants.json for this role and size, and keeps the baseline elsewhere', async () => {
        const response = await get(`/v1/roles/${slug}?companySize=${size}`);
        expect(response.statusCode).toBe(200);
        const body = response.json();
        expect(body).toMatchObject({ ...role, companySize: size, kbRelease: release });
        expect(body.expectations).toHaveLength(competencies.length);
        const bySlug = new Map(body.expectations.map((e: { competency: { slug: string } }) => [e.competency.slug, e]));
        // biome-ignore lint/suspicious/noExplicitAny: the response body is checked field by field below.
        const at = (competency: string) => bySlug.get(competency) as any;

        const applicable = variants.filter((v) => v.role === slug && v.companySize === size);
        for (const variant of applicable) {
          const e = at(variant.competency);
          expect(e.level, variant.competency).toBe(variant.level);
          expect(e.variant.companySize, variant.competency).toBe(size);
          expect(e.variant.level, variant.competency).toBe(variant.level);
          expect(e.baselineLevel, variant.competency).toBe(baselineOf(slug, variant.competency).level);
          expect(e.rationale, variant.competency).toBe(variant.rationale);
          expect(e.variant.rationale, variant.competency).toBe(variant.rationale);
        }
        for (const competency of competencies) {
          if (applicable.some((v) => v.competency === competency.slug)) continue;
          const e = at(competency.slug);
          const baseline = baselineOf(slug, competency.slug);
          expect(e.variant, competency.slug).toBeNull();
          expect(e.level, competency.slug).toBe(baseline.level);
          expect(e.baselineLevel, competency.slug).toBe(baseline.level);
          expect(e.rationale, competency.slug).toBe(baseline.rationale);
        }
      });

      it('matches the seed entry by entry, citations and editorial flags included', async () => {
        const body = (await get(`/v1/roles/${slug}?companySize=${size}`)).json();
        expect(body.expectations).toEqual(competencies.map((c) => expectedExpectation(slug, c, size)));
      });
    });
  });

  it('has variants to apply: the engineering manager has some at startups and in big tech', () => {
    // Guards the companySize tests above against passing vacuously. Scale-ups have none: the sources say
    // nothing of mid-sized companies, so the baseline applies there, and those tests check that branch.
    const withVariants = sizes.filter((size) => variants.some((v) => v.role === 'engineering-manager' && v.companySize === size.slug));
    expect(withVariants.map((size) => size.slug)).toEqual(['startup', 'big-tech']);
  });

  it('changes the level where a variant applies (engineering-manager hands-on-coding differs from its baseline at some size)', async () => {
    const baseline = baselineOf('engineering-manager', 'hands-on-coding').level;
    const changed = variants.filter((v) => v.role === 'engineering-manager' && v.competency === 'hands-on-coding' && v.level !== baseline);
    expect(changed.length).toBeGreaterThan(0);
    for (const variant of changed) {
      const body = (await get(`/v1/roles/engineering-manager?companySize=${variant.companySize}`)).json();
      const e = body.expectations.find((x: { competency: { slug: string } }) => x.competency.slug === 'hands-on-coding');
      expect(e.level).toBe(variant.level);
      expect(e.level).not.toBe(e.baselineLevel);
    }
  });

  it('carries citations as a source id and a claim, and editorial entries as editorial: true', async () => {
    const editorialEntries = expectations.filter((e) => e.editorial === true && ROLES_UNDER_TEST.includes(e.role));
    expect(editorialEntries.length).toBeGreaterThan(0);
    for (const entry of editorialEntries) {
      const body = (await get(`/v1/roles/${entry.role}`)).json();
      const e = body.expectations.find((x: { competency: { slug: string } }) => x.competency.slug === entry.competency);
      expect(e.editorial, `${entry.role}/${entry.competency}`).toBe(true);
    }
    const cited = expectations.find((e) => e.role === 'tech-lead' && (e.citations?.length ?? 0) > 0);
    expect(cited).toBeDefined();
    const body = (await get('/v1/roles/tech-lead')).json();
    const e = body.expectations.find((x: { competency: { slug: string } }) => x.competency.slug === cited?.competency);
    expect(e.editorial).toBe(false);
    expect(e.citations).toEqual(citationsView(cited?.citations));
    for (const citation of e.citations) {
      expect(Object.keys(citation).sort()).toEqual(['claim', 'source']);
      expect(sources.some((source) => source.id === citation.source)).toBe(true);
    }
  });

  it('answers an unknown role with a 404 problem whose errors[0].field is params.role', async () => {
    const body = expectProblem(await get('/v1/roles/product-manager'), 404);
    expect(body.errors?.[0]?.field).toBe('params.role');
  });

  it('answers a well-formed but unknown 64-character slug with 404, not 400', async () => {
    const slug = `${'a'.repeat(63)}b`;
    expect(slug).toHaveLength(64);
    const body = expectProblem(await get(`/v1/roles/${slug}`), 404);
    expect(body.errors?.[0]?.field).toBe('params.role');
  });

  it.each([
    ['Tech_Lead', 'Tech_Lead'],
    ['TECH-LEAD', 'TECH-LEAD'],
    ['tech--lead', 'tech--lead'],
    ['-tech-lead', '-tech-lead'],
    ['65 characters', 'a'.repeat(65)],
  ])('answers a malformed slug (%s) with a 400 problem naming params.role', async (_label, slug) => {
    expectProblem(await get(`/v1/roles/${encodeURIComponent(slug)}`), 400, ['params.role']);
  });

  it('answers an unknown companySize with a 404 problem naming querystring.companySize', async () => {
    const body = expectProblem(await get('/v1/roles/tech-lead?companySize=enterprise'), 404);
    expect(body.errors?.[0]?.field).toBe('querystring.companySize');
  });

  it.each(['Big_Tech', 'BIG-TECH', 'big tech', ''])('answers a malformed companySize (%j) with a 400 problem naming it', async (size) => {
    expectProblem(await get(`/v1/roles/tech-lead?companySize=${encodeURIComponent(size)}`), 400, ['querystring.companySize']);
  });

  it('rejects an unknown query parameter with a 400 problem', async () => {
    expectProblem(await get('/v1/roles/tech-lead?size=startup'), 400);
  });
});
