// An HR tool's view of the API: it builds a skills matrix per role and company size, a filter UI, a
// search box and exports from the answers, so it needs every route to tell the same story, filters
// that do what they say, errors it can show, and bodies that match the published contract.
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed } from './support/fixtures.js';
import { fieldsOf, problemOf } from './support/http.js';
import { document, getDocumented } from './support/openapi.js';

type CompetencyRef = { slug: string; name: string; category: string };
type Expectation = {
  competency: CompetencyRef;
  level: number;
  baselineLevel: number;
  variant: { companySize: string; level: number; rationale: string; editorial: boolean } | null;
  rationale: string;
  editorial: boolean;
};
type RoleDetail = { slug: string; name: string; companySize: string | null; kbRelease: string; expectations: Expectation[] };
type CompetencyDetail = CompetencyRef & {
  kbRelease: string;
  roles: {
    role: string;
    name: string;
    baselineLevel: number;
    byCompanySize: { companySize: string; level: number; overridden: boolean }[];
  }[];
};
type ListItem = CompetencyRef & { description: string; level?: number };
type Page<T> = { items: T[]; total: number; limit: number; offset: number };
type Row = {
  competency: CompetencyRef;
  levels: { role: string; level: number; baselineLevel: number; rationale: string; editorial: boolean }[];
  spread: number;
  classification: 'shared' | 'distinctive' | 'peripheral';
  leader: string | null;
};
type Stage = {
  companySize: string | null;
  similarity: number;
  pairwise: { roles: [string, string]; similarity: number }[];
  competencies: Row[];
  summary: { shared: string[]; distinctive: { role: string; competencies: string[] }[]; peripheral: string[] };
};
type Comparison = Stage & { roles: { slug: string; name: string }[]; category: string | null; kbRelease: string; kbContentHash: string };
type AcrossSizes = {
  roles: { slug: string; name: string }[];
  kbRelease: string;
  kbContentHash: string;
  trend: { companySize: string | null; similarity: number }[];
  comparisons: Stage[];
};

let app: App;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

/** A documented 200 (its body checked against the committed OpenAPI document), parsed. */
async function ok<T>(url: string): Promise<T> {
  const response = await getDocumented(app, url);
  expect(response.statusCode, `${url}: ${response.body.slice(0, 200)}`).toBe(200);
  return response.json() as T;
}

/** A documented problem with this status. */
async function problem(url: string, status: number) {
  return problemOf((await getDocumented(app, url)) as LightMyRequestResponse, status);
}

const ROLES = ['tech-lead', 'engineering-manager'];
const SIZES = ['startup', 'scale-up', 'big-tech'];
const STAGES: (string | null)[] = [null, ...SIZES];
const sizeQuery = (size: string | null, sep = '?') => (size === null ? '' : `${sep}companySize=${size}`);

describe('one matrix, read five ways: role, competency, comparison, comparison by size, filter', () => {
  it('gives every role the same level, name, category and order of every competency at every size on every route', async () => {
    const meta = await ok<{ kbRelease: string; contentHash: string }>('/v1/meta');
    const all = await ok<Page<ListItem>>('/v1/competencies?limit=200');
    expect(all.total).toBe(22);
    const slugs = all.items.map((c) => c.slug);
    const details = new Map<string, CompetencyDetail>();
    for (const slug of slugs) details.set(slug, await ok<CompetencyDetail>(`/v1/competencies/${slug}`));
    const bySize = await ok<AcrossSizes>(`/v1/comparisons/by-company-size?roles=${ROLES.join(',')}`);
    expect(bySize.kbRelease).toBe(meta.kbRelease);
    expect(bySize.kbContentHash).toBe(meta.contentHash);
    expect(bySize.comparisons.map((s) => s.companySize)).toEqual(STAGES);

    let compared = 0;
    for (const size of STAGES) {
      const comparison = await ok<Comparison>(`/v1/comparisons?roles=${ROLES.join(',')}${sizeQuery(size, '&')}`);
      expect(comparison.kbRelease).toBe(meta.kbRelease);
      expect(comparison.kbContentHash).toBe(meta.contentHash);
      expect(comparison.companySize).toBe(size);
      const stage = bySize.comparisons[STAGES.indexOf(size)];
      const { roles: _r, category: _c, kbRelease: _k, kbContentHash: _h, ...single } = comparison;
      expect(stage).toEqual(single);
      expect(comparison.competencies.map((r) => r.competency.slug)).toEqual(slugs);

      for (const role of ROLES) {
        const detail = await ok<RoleDetail>(`/v1/roles/${role}${sizeQuery(size)}`);
        expect(detail.kbRelease).toBe(meta.kbRelease);
        expect(detail.companySize).toBe(size);
        expect(detail.expectations.map((e) => e.competency)).toEqual(
          all.items.map(({ slug, name, category }) => ({ slug, name, category })),
        );

        detail.expectations.forEach((e, i) => {
          const where = `${role} ${e.competency.slug} at ${size ?? 'baseline'}`;
          const byRole = details.get(e.competency.slug)?.roles.find((r) => r.role === role);
          const atSize = size === null ? undefined : byRole?.byCompanySize.find((b) => b.companySize === size);
          expect(byRole?.baselineLevel, where).toBe(e.baselineLevel);
          expect(size === null ? byRole?.baselineLevel : atSize?.level, where).toBe(e.level);
          expect(atSize?.overridden ?? false, where).toBe(e.variant !== null);
          if (e.variant !== null)
            expect([e.variant.companySize, e.variant.level, e.variant.rationale], where).toEqual([size, e.level, e.rationale]);
          const row = comparison.competencies[i];
          const cell = row?.levels.find((l) => l.role === role);
          expect(row?.competency, where).toEqual(e.competency);
          expect(cell, where).toEqual({
            role,
            level: e.level,
            baselineLevel: e.baselineLevel,
            rationale: e.rationale,
            editorial: e.editorial,
          });
          compared++;
        });

        for (const minLevel of [0, 1, 2, 3, 4]) {
          const filtered = await ok<Page<ListItem>>(`/v1/competencies?role=${role}&minLevel=${minLevel}${sizeQuery(size, '&')}&limit=200`);
          const expected = detail.expectations.filter((e) => e.level >= minLevel).map((e) => [e.competency.slug, e.level]);
          expect(
            filtered.items.map((c) => [c.slug, c.level]),
            `${role} minLevel=${minLevel} at ${size}`,
          ).toEqual(expected);
          expect(filtered.total).toBe(expected.length);
        }
      }
    }
    expect(compared).toBe(2 * 4 * 22);
  });

  it('names roles the same way everywhere (the /v1/roles names in comparisons and competency details)', async () => {
    const roles = await ok<Page<{ slug: string; name: string }>>('/v1/roles');
    expect(roles.items.map((r) => r.slug)).toEqual(ROLES);
    const comparison = await ok<Comparison>('/v1/comparisons?roles=engineering-manager,tech-lead');
    expect(comparison.roles).toEqual([...roles.items].reverse().map(({ slug, name }) => ({ slug, name })));
    const hiring = await ok<CompetencyDetail>('/v1/competencies/hiring');
    expect(hiring.roles.map(({ role, name }) => ({ slug: role, name }))).toEqual(roles.items.map(({ slug, name }) => ({ slug, name })));
  });

  it('gives company sizes smallest first, with contiguous headcounts, and uses that order in every per-size list', async () => {
    const sizes = await ok<Page<{ slug: string; order: number; headcountMin: number; headcountMax: number | null }>>('/v1/company-sizes');
    expect(sizes.items.map((s) => [s.slug, s.order, s.headcountMin, s.headcountMax])).toEqual([
      ['startup', 1, 1, 50],
      ['scale-up', 2, 51, 1000],
      ['big-tech', 3, 1001, null],
    ]);
    const coding = await ok<CompetencyDetail>('/v1/competencies/hands-on-coding');
    for (const role of coding.roles) expect(role.byCompanySize.map((b) => b.companySize)).toEqual(SIZES);
    // The level the README's tour shows: managers code regularly at startups; the baseline holds at larger sizes.
    expect(coding.roles.find((r) => r.role === 'engineering-manager')?.byCompanySize.map((b) => b.level)).toEqual([2, 1, 1]);
  });

  it('cites only sources that /v1/sources lists', async () => {
    const sources = new Set((await ok<Page<{ id: string }>>('/v1/sources')).items.map((s) => s.id));
    expect(sources.size).toBe(2);
    for (const role of ROLES) {
      for (const size of STAGES) {
        const detail = await app.inject(`/v1/roles/${role}${sizeQuery(size)}`);
        const cited = (detail.json() as { expectations: { citations: { source: string }[] }[] }).expectations.flatMap((e) =>
          e.citations.map((c) => c.source),
        );
        expect(cited.length).toBeGreaterThan(0);
        for (const id of cited) expect(sources.has(id), id).toBe(true);
      }
    }
  });
});

describe('comparisons: the rules of the README and DESIGN.md, recomputed from the levels', () => {
  function checkStage(stage: Stage, roles: string[]) {
    let spreadSum = 0;
    for (const row of stage.competencies) {
      const levels = row.levels.map((l) => l.level);
      expect(row.levels.map((l) => l.role)).toEqual(roles);
      const max = Math.max(...levels);
      const spread = max - Math.min(...levels);
      spreadSum += spread;
      expect(row.spread).toBe(spread);
      const expected = spread >= 2 ? 'distinctive' : max >= 2 ? 'shared' : 'peripheral';
      expect(row.classification, row.competency.slug).toBe(expected);
      const top = row.levels.filter((l) => l.level === max).map((l) => l.role);
      expect(row.leader).toBe(expected === 'distinctive' && top.length === 1 ? top[0] : null);
    }
    const similarity = 1 - spreadSum / stage.competencies.length / 4;
    expect(stage.similarity).toBeCloseTo(similarity, 4);
    expect(stage.pairwise).toEqual([{ roles, similarity: stage.similarity }]);
    const of = (c: Row['classification']) => stage.competencies.filter((r) => r.classification === c).map((r) => r.competency.slug);
    expect(stage.summary.shared).toEqual(of('shared'));
    expect(stage.summary.peripheral).toEqual(of('peripheral'));
    expect(stage.summary.distinctive).toEqual(
      roles.map((role) => ({
        role,
        competencies: stage.competencies
          .filter((r) => r.classification === 'distinctive' && r.leader === role)
          .map((r) => r.competency.slug),
      })),
    );
  }

  it.each([
    ['tech-lead,engineering-manager', ''],
    ['engineering-manager,tech-lead', '&companySize=big-tech'],
    ['tech-lead,engineering-manager', '&companySize=startup&category=technical'],
    ['tech-lead,engineering-manager', '&category=people'],
  ])('roles=%s%s: spread, classification, leader, similarity, pairwise and summary follow the rules', async (roles, rest) => {
    const body = await ok<Comparison>(`/v1/comparisons?roles=${roles}${rest}`);
    checkStage(body, roles.split(','));
    if (rest.includes('category=')) {
      expect(body.competencies.length).toBeGreaterThan(0);
      expect(body.competencies.every((r) => r.competency.category === body.category)).toBe(true);
    }
  });

  it('by company size: every stage follows the rules, the trend repeats each similarity, and the roles are closest at startups', async () => {
    const body = await ok<AcrossSizes>('/v1/comparisons/by-company-size?roles=tech-lead,engineering-manager');
    for (const stage of body.comparisons) checkStage(stage, ROLES);
    expect(body.trend).toEqual(body.comparisons.map((s) => ({ companySize: s.companySize, similarity: s.similarity })));
    const [, startup, scaleUp, bigTech] = body.trend.map((t) => t.similarity) as [number, number, number, number];
    expect(startup).toBeGreaterThan(scaleUp);
    expect(scaleUp).toBeGreaterThan(bigTech);
  });

  it('mirrors the answer when the roles are given in the other order: same numbers, rows and summary per role', async () => {
    const ab = await ok<Comparison>('/v1/comparisons?roles=tech-lead,engineering-manager&companySize=scale-up');
    const ba = await ok<Comparison>('/v1/comparisons?roles=engineering-manager,tech-lead&companySize=scale-up');
    expect(ba.similarity).toBe(ab.similarity);
    expect(ba.pairwise[0]?.roles).toEqual(['engineering-manager', 'tech-lead']);
    expect(ba.competencies.map((r) => [r.competency.slug, r.spread, r.classification, r.leader, [...r.levels].reverse()])).toEqual(
      ab.competencies.map((r) => [r.competency.slug, r.spread, r.classification, r.leader, r.levels]),
    );
    expect([...ba.summary.distinctive].reverse()).toEqual(ab.summary.distinctive);
  });

  it('tolerates spaces around the slugs (a hand-typed list) and shares the ETag of the tidy form', async () => {
    const tidy = await app.inject('/v1/comparisons?roles=tech-lead,engineering-manager');
    const spaced = await app.inject('/v1/comparisons?roles=%20tech-lead%20,%20engineering-manager');
    expect(spaced.statusCode).toBe(200);
    expect(spaced.body).toBe(tidy.body);
    expect(spaced.headers.etag).toBe(tidy.headers.etag);
  });

  it.each([
    ['tech-lead', 400, ['querystring.roles'], /at least 2/],
    ['tech-lead,tech-lead', 400, ['querystring.roles[1]'], /^repeats roles\[0\] \(tech-lead\): roles must be distinct$/],
    ['tech-lead,engineering-manager,tech-lead', 400, ['querystring.roles[2]'], /repeats roles\[0\]/],
    ['tech-lead,engineering-manager,tech-lead,engineering-manager', 400, ['querystring.roles[2]', 'querystring.roles[3]'], /distinct/],
    ['tech-lead,engineering-manager,a,b,c,d', 400, ['querystring.roles'], /at most 5/],
    ['tech-lead,Engineering-Manager', 400, ['querystring.roles[1]'], /lowercase slug/],
    ['tech-lead,,engineering-manager', 400, ['querystring.roles[1]'], /must not be empty/],
    ['tech-lead,engineering-manager,staff-engineer', 404, ['querystring.roles[2]'], /unknown role "staff-engineer"/],
    ['cto,tech-lead,vp', 404, ['querystring.roles[0]', 'querystring.roles[2]'], /unknown role "cto"/],
  ])('roles=%s is a %i problem naming %j', async (roles, status, fields, message) => {
    for (const path of ['/v1/comparisons', '/v1/comparisons/by-company-size']) {
      const body = await problem(`${path}?roles=${roles}`, status);
      expect(fieldsOf(body)).toEqual(fields);
      expect(body.errors?.[0]?.message).toMatch(message);
    }
  });

  it('refuses a repeated roles parameter (roles=a&roles=b, as some HTTP libraries send lists) with a 400 naming it', async () => {
    for (const url of [
      '/v1/comparisons?roles=tech-lead&roles=engineering-manager',
      '/v1/comparisons/by-company-size?roles=tech-lead&roles=engineering-manager',
    ]) {
      const body = await problem(url, 400);
      expect(fieldsOf(body), url).toEqual(['querystring.roles']);
      // How to send the list instead: one parameter, commas between the roles.
      expect(body.errors?.[0]?.message, url).toMatch(
        /give it once, the roles separated by commas \(roles=tech-lead,engineering-manager\)$/,
      );
    }
  });

  it('tells roles[]=a&roles[]=b (how some HTTP libraries send a list) that it stands for roles', async () => {
    const body = await problem('/v1/comparisons?roles[]=tech-lead&roles[]=engineering-manager', 400);
    expect(body.errors).toContainEqual({ field: 'querystring["roles[]"]', message: 'unknown parameter; did you mean roles?' });
  });

  // Guards against (from a user walkthrough): a bare "unknown parameter" for a companySize sent to the
  // comparison that already covers every size, which did not say where one size is asked for.
  it('tells companySize on the comparison across sizes where one size is asked for', async () => {
    const body = await problem('/v1/comparisons/by-company-size?roles=tech-lead,engineering-manager&companySize=startup', 400);
    expect(body.errors).toEqual([
      {
        field: 'querystring.companySize',
        message: 'unknown parameter; this comparison is at every company size already: for one size, GET /v1/comparisons takes companySize',
      },
    ]);
  });

  it('reports an empty companySize once, not once per rule it breaks', async () => {
    const body = await problem('/v1/roles/tech-lead?companySize=', 400);
    expect(body.errors).toEqual([{ field: 'querystring.companySize', message: 'must not be empty' }]);
  });

  it('refuses companySize on the by-company-size route, naming it, instead of ignoring it', async () => {
    const body = await problem('/v1/comparisons/by-company-size?roles=tech-lead,engineering-manager&companySize=startup', 400);
    expect(fieldsOf(body)).toEqual(['querystring.companySize']);
  });
});

describe('filters and the search box on GET /v1/competencies', () => {
  const slugsOf = async (query: string) => (await ok<Page<ListItem>>(`/v1/competencies?${query}`)).items.map((c) => c.slug);

  it("finds what the README's tour promises", async () => {
    expect(await slugsOf('q=review')).toEqual(['code-review', 'performance-reviews']);
    const people = await ok<Page<ListItem>>('/v1/competencies?category=people');
    expect(people.items.map((c) => c.slug)).toEqual([
      'technical-mentoring',
      'career-development',
      'hiring',
      'performance-reviews',
      'team-culture',
      'team-ownership',
    ]);
    const interviewPlan = await ok<Page<ListItem>>('/v1/competencies?role=engineering-manager&minLevel=3&companySize=big-tech');
    expect(interviewPlan.total).toBe(13);
    expect(interviewPlan.items.every((c) => (c.level ?? -1) >= 3)).toBe(true);
    expect(interviewPlan.items.map((c) => c.slug)).not.toContain('hands-on-coding');
  });

  it('matches q whatever its case, surrounding whitespace (no-break spaces too) or form encoding (+ for a space)', async () => {
    const expected = ['code-review'];
    for (const q of ['code%20review', 'CODE%20REVIEW', 'Code+Review', '%20%20code%20review%20', '%C2%A0code%20review%C2%A0']) {
      expect(await slugsOf(`q=${q}`), q).toEqual(expected);
    }
  });

  it('matches partial words, in names and in descriptions', async () => {
    expect(await slugsOf('q=hir')).toEqual(['hiring']);
    // "headcount" is only in the description of hiring.
    expect(await slugsOf('q=headcount')).toEqual(['hiring']);
    expect(await slugsOf('q=strategy')).toEqual(['vision-and-strategy']);
  });

  // Guards against: q was matched as one literal substring, so "decision making", "review code",
  // "team’s" (as phones type it) and "révieW" found nothing, though those competencies exist.
  it('finds every word of q in any order, whatever its accents, hyphens, inner spaces or apostrophes', async () => {
    for (const q of ['review%20code', 'code%20%20review', 'code-review', 'r%C3%A9view%20code', 're%CC%81view%20code', 'code_review'])
      expect(await slugsOf(`q=${q}`), q).toEqual(['code-review']);
    expect(await slugsOf('q=hands%20on')).toEqual(['hands-on-coding']);
    expect(await slugsOf('q=technical%20decision%20making')).toEqual(['technical-decision-making']);
    expect(await slugsOf('q=team%E2%80%99s')).toEqual(await slugsOf("q=team's"));
    expect((await slugsOf("q=team's")).length).toBeGreaterThan(0);
    // Every word must be found: one that is in no competency leaves none.
    expect(await slugsOf('q=code%20review%20zebra')).toEqual([]);
  });

  // Guards against (from a review): punctuation or quotation marks stuck to a word ("code review"
  // in quotes, hiring?, (hiring), code, review) found nothing, while a q of punctuation alone is a 400.
  it('reads punctuation and quotation marks around the words of q as spaces', async () => {
    for (const q of ['%22code%20review%22', 'code%2C%20review', "'code%20review'", '%E2%80%9Ccode%20review%E2%80%9D', 'code.review'])
      expect(await slugsOf(`q=${q}`), q).toEqual(['code-review']);
    const hiring = await slugsOf('q=hiring');
    expect(hiring.length).toBeGreaterThan(0);
    for (const q of ['hiring%3F', 'hiring.', '(hiring)', '%C2%BFhiring%3F']) expect(await slugsOf(`q=${q}`), q).toEqual(hiring);
  });

  // Guards against: a q of punctuation alone ('-', '´', a lone accent) had no words left, and every
  // competency matched it.
  it('refuses a q with no letter or digit, naming the field', async () => {
    // A modifier apostrophe (ʼ) counts as a letter, but the search reads it as an apostrophe, and no word.
    for (const q of ['-', '%C2%B4', '%CC%81', '%E2%80%99', '%E2%80%94', '_%2F', '%CA%BC', '%22%27%22']) {
      const body = await problem(`/v1/competencies?q=${q}`, 400);
      expect(body.errors, q).toEqual([{ field: 'querystring.q', message: 'must have a letter or a digit' }]);
    }
    expect((await problem('/v1/competencies?q=%20%20', 400)).errors).toEqual([{ field: 'querystring.q', message: 'must not be blank' }]);
    // A typographic acute accent reads as an apostrophe, as in "team´s".
    expect(await slugsOf('q=team%C2%B4s')).toEqual(await slugsOf("q=team's"));
  });

  it('gives the same words in another order one body and one ETag', async () => {
    const one = await app.inject('/v1/competencies?q=code%20review');
    const other = await app.inject('/v1/competencies?q=Review%20CODE');
    expect(other.body).toBe(one.body);
    expect(other.headers.etag).toBe(one.headers.etag);
  });

  it('counts the 100 characters of q composed: 100 accented letters typed decomposed are taken', async () => {
    expect((await app.inject(`/v1/competencies?q=${'e%CC%81'.repeat(100)}`)).statusCode).toBe(200);
    expect((await app.inject(`/v1/competencies?q=${'e%CC%81'.repeat(101)}`)).statusCode).toBe(400);
  });

  it('gives a search and the same search in another case one ETag and one body, and another search another ETag', async () => {
    const lower = await app.inject('/v1/competencies?q=review');
    const upper = await app.inject('/v1/competencies?q=REVIEW');
    const other = await app.inject('/v1/competencies?q=hiring');
    expect(upper.body).toBe(lower.body);
    expect(upper.headers.etag).toBe(lower.headers.etag);
    expect(other.headers.etag).not.toBe(lower.headers.etag);
  });

  it('combines every filter: category, q, role, minLevel and companySize', async () => {
    const body = await ok<Page<ListItem>>(
      '/v1/competencies?category=technical&q=code&role=engineering-manager&minLevel=2&companySize=startup',
    );
    expect(body.items.map((c) => [c.slug, c.level])).toEqual([
      ['hands-on-coding', 2],
      ['code-review', 2],
    ]);
    const bigTech = await ok<Page<ListItem>>(
      '/v1/competencies?category=technical&q=code&role=engineering-manager&minLevel=0&companySize=big-tech',
    );
    expect(bigTech.items.map((c) => [c.slug, c.level])).toEqual([
      ['hands-on-coding', 1],
      ['code-review', 1],
    ]);
  });

  it('accepts minLevel 0 to 4 with a role and keeps fewer competencies as it rises', async () => {
    const totals: number[] = [];
    for (const minLevel of [0, 1, 2, 3, 4]) {
      totals.push((await ok<Page<ListItem>>(`/v1/competencies?role=tech-lead&minLevel=${minLevel}`)).total);
    }
    // Counted from the seed file itself: the tech lead's baseline levels at or above each minimum.
    const levels = readRawSeed()
      .expectations.filter((e) => e.role === 'tech-lead')
      .map((e) => e.level);
    expect(totals).toEqual([0, 1, 2, 3, 4].map((min) => levels.filter((level) => level >= min).length));
    expect(new Set(totals).size).toBeGreaterThan(3);
  });

  it('pages a filtered list in a stable order: the pages join into the whole list, the last page is short, past the end is empty', async () => {
    const whole = await slugsOf('role=engineering-manager&minLevel=2&limit=200');
    expect(whole).toHaveLength(18);
    const pages: string[] = [];
    for (let offset = 0; offset < whole.length; offset += 5) {
      const page = await ok<Page<ListItem>>(`/v1/competencies?role=engineering-manager&minLevel=2&limit=5&offset=${offset}`);
      expect([page.total, page.limit, page.offset]).toEqual([18, 5, offset]);
      pages.push(...page.items.map((c) => c.slug));
    }
    expect(pages).toEqual(whole);
    expect((await ok<Page<ListItem>>('/v1/competencies?role=engineering-manager&minLevel=2&limit=5&offset=15')).items).toHaveLength(3);
    expect(await ok<Page<ListItem>>('/v1/competencies?role=engineering-manager&minLevel=2&limit=5&offset=18')).toEqual({
      items: [],
      total: 18,
      limit: 5,
      offset: 18,
    });
    expect(await slugsOf('limit=1&offset=21')).toEqual(['business-alignment']);
    expect(await slugsOf('limit=200&offset=1000000')).toEqual([]);
  });

  it.each([
    ['role=tech-lead&minLevel=2.5', 'querystring.minLevel'],
    ['role=tech-lead&minLevel=-1', 'querystring.minLevel'],
    ['role=tech-lead&minLevel=5', 'querystring.minLevel'],
    ['role=tech-lead&minLevel=', 'querystring.minLevel'],
    ['minLevel=3', 'querystring.minLevel'],
    ['companySize=big-tech', 'querystring.companySize'],
    ['category=People', 'querystring.category'],
    ['q=', 'querystring.q'],
    [`q=${'a'.repeat(101)}`, 'querystring.q'],
    ['limit=201', 'querystring.limit'],
    ['offset=1000001', 'querystring.offset'],
    ['size=startup', 'querystring.size'],
  ])('?%s is a 400 problem naming %s', async (query, field) => {
    expect(fieldsOf(await problem(`/v1/competencies?${query}`, 400))).toContain(field);
  });

  it('answers unknown role and company size together with one 404 naming both fields', async () => {
    const body = await problem('/v1/competencies?role=product-manager&companySize=enterprise', 404);
    expect(body.errors).toEqual([
      { field: 'querystring.role', message: 'unknown role "product-manager": must be one of: tech-lead, engineering-manager' },
      { field: 'querystring.companySize', message: 'unknown company size "enterprise": must be one of: startup, scale-up, big-tech' },
    ]);
    const role = await problem('/v1/roles/product-manager?companySize=enterprise', 404);
    expect(fieldsOf(role)).toEqual(['params.role', 'querystring.companySize']);
    expect(fieldsOf(await problem('/v1/competencies/leadership', 404))).toEqual(['params.competency']);
  });

  // Guards against: a whole number outside its range (minLevel=5, limit=0 or 201, offset=1000001)
  // refused with "must be a whole number in decimal digits", which it is, never saying the range.
  it('says which range a whole-number query parameter must be in when it is outside it', async () => {
    for (const [query, field, bound] of [
      ['role=tech-lead&minLevel=5', 'querystring.minLevel', /from 0 to 4/],
      ['limit=201', 'querystring.limit', /from 1 to 200/],
      ['limit=0', 'querystring.limit', /from 1 to 200/],
      ['offset=1000001', 'querystring.offset', /from 0 to 1000000/],
      // A negative number (from a review: told it was not written in decimal digits).
      ['offset=-1', 'querystring.offset', /from 0 to 1000000/],
      ['limit=-5', 'querystring.limit', /from 1 to 200/],
      ['role=tech-lead&minLevel=-1', 'querystring.minLevel', /from 0 to 4/],
      ['offset=-0', 'querystring.offset', /from 0 to 1000000/],
    ] as const) {
      const body = await problem(`/v1/competencies?${query}`, 400);
      const message = body.errors?.find((e) => e.field === field)?.message ?? '';
      expect(message, query).not.toMatch(/whole number in decimal digits/);
      expect(message, query).toMatch(bound);
    }
  });

  // Guards against: a published q schema (minLength 1 on the raw value) that allowed q=" ", which the
  // server, trimming first, refused: a client generated from openapi.json could not know to avoid it.
  it('publishes that q must not be blank, refuses a blank q saying so, and ignores surrounding spaces', async () => {
    const params = document.paths['/v1/competencies'].get.parameters as {
      name: string;
      description?: string;
      schema: { minLength?: number; pattern?: string };
    }[];
    const q = params.find((p) => p.name === 'q');
    // The pattern says "a letter or a digit" as far as it can portably (no \p{…} class, no u flag): it refuses
    // blanks and ASCII punctuation alone (q=--- met a 400 the document allowed, from a contract review); the
    // description says the rest.
    expect(q?.description).toMatch(/letter or a digit/);
    const pattern = new RegExp(q?.schema.pattern ?? '');
    for (const refused of [' ', '---', '_/', `"'"`, '(?)']) expect(pattern.test(refused), refused).toBe(false);
    for (const taken of ['feedback', 'é', 'ÉQUIPE', '™', '7', ' code ']) expect(pattern.test(taken), taken).toBe(true);
    expect((await problem('/v1/competencies?q=---', 400)).errors).toEqual([
      { field: 'querystring.q', message: 'must have a letter or a digit' },
    ]);
    const blank = await problem('/v1/competencies?q=%20', 400);
    expect(blank.errors).toEqual([{ field: 'querystring.q', message: 'must not be blank' }]);
    const padded = await app.inject('/v1/competencies?q=%20code%20');
    expect(padded.statusCode).toBe(200);
    expect(padded.json().items).toEqual((await app.inject('/v1/competencies?q=code')).json().items);
  });
  // Guards against: a multi-select filter UI that repeats a parameter (category twice, or minLevel
  // twice) told "Invalid option: expected one of ..." or "must be a whole number", though every value
  // it sent is valid.
  it('refuses a repeated filter parameter by saying it is repeated, not that its valid values are invalid', async () => {
    for (const [query, field] of [
      ['category=people&category=technical', 'querystring.category'],
      ['role=tech-lead&minLevel=1&minLevel=2', 'querystring.minLevel'],
    ] as const) {
      const body = await problem(`/v1/competencies?${query}`, 400);
      expect(body.errors, query).toEqual([{ field, message: 'is given more than once: give it once' }]);
    }
  });
});

describe('shapes, caching and HEAD', () => {
  it('declares null, not absence, for the baseline: companySize and variant are required and nullable; level only with role', async () => {
    const schemas = document.components.schemas;
    expect(schemas.RoleDetail.required).toContain('companySize');
    expect(schemas.Expectation.required).toContain('variant');
    expect(schemas.CompetencyListItem.required).not.toContain('level');
    const baseline = await ok<RoleDetail>('/v1/roles/engineering-manager');
    expect(baseline.companySize).toBeNull();
    expect(baseline.expectations.length).toBeGreaterThan(0);
    expect(baseline.expectations.every((e) => e.variant === null && e.level === e.baselineLevel)).toBe(true);
    const plain = await ok<Page<ListItem>>('/v1/competencies');
    expect(plain.items.length).toBeGreaterThan(0);
    expect(plain.items.every((c) => !('level' in c))).toBe(true);
    const withRole = await ok<Page<ListItem>>('/v1/competencies?role=tech-lead&minLevel=0');
    expect(withRole.items.length).toBe(plain.items.length);
    expect(withRole.items.every((c) => Number.isInteger(c.level))).toBe(true);
  });

  it('gives every competency a category from the documented enum, every level an integer from 0 to 4', async () => {
    const categories = document.components.schemas.Category.enum as string[];
    expect(categories).toEqual(['technical', 'people', 'delivery', 'communication', 'strategy']);
    const all = await ok<Page<ListItem>>('/v1/competencies');
    expect(new Set(all.items.map((c) => c.category))).toEqual(new Set(categories));
    for (const role of ROLES) {
      for (const size of STAGES) {
        const detail = await ok<RoleDetail>(`/v1/roles/${role}${sizeQuery(size)}`);
        for (const e of detail.expectations) expect([0, 1, 2, 3, 4]).toContain(e.level);
      }
    }
  });

  it.each([
    ['/v1/roles/tech-lead?companySize=startup', '/v1/roles/tech-lead?companySize=big-tech'],
    [
      '/v1/competencies?role=engineering-manager&minLevel=3&companySize=big-tech',
      '/v1/competencies?role=engineering-manager&minLevel=3&companySize=big-tech&limit=1',
    ],
    ['/v1/competencies/hiring', '/v1/competencies/code-review'],
    [
      '/v1/comparisons/by-company-size?roles=tech-lead,engineering-manager&category=people',
      '/v1/comparisons/by-company-size?roles=tech-lead,engineering-manager&category=delivery',
    ],
  ])('%s: one ETag per representation, 304 for it, HEAD with the same headers and length', async (url, otherUrl) => {
    const first = await app.inject(url);
    const etag = first.headers.etag as string;
    // The release the app serves, then the hash of this representation.
    expect(etag.startsWith(`"${app.kb.release.id}-`)).toBe(true);
    const again = await app.inject(url);
    expect(again.headers.etag).toBe(etag);
    expect(again.body).toBe(first.body);

    const notModified = await app.inject({ url, headers: { 'if-none-match': etag } });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
    expect(notModified.headers.etag).toBe(etag);

    const head = await app.inject({ method: 'HEAD', url });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers.etag).toBe(etag);
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(first.body)));
    expect(head.headers['cache-control']).toBe(first.headers['cache-control']);

    // Another query string, or another resource of the same kind, is another representation.
    const other = await app.inject(otherUrl);
    expect(other.statusCode).toBe(200);
    expect(other.headers.etag).not.toBe(etag);
  });

  it('gives each company size its own ETag for the same role, and never answers 304 to the ETag of another size', async () => {
    const tags = new Set<string>();
    for (const size of STAGES) tags.add((await app.inject(`/v1/roles/tech-lead${sizeQuery(size)}`)).headers.etag as string);
    expect(tags.size).toBe(4);
    const baselineTag = (await app.inject('/v1/roles/tech-lead')).headers.etag as string;
    const atStartup = await app.inject({ url: '/v1/roles/tech-lead?companySize=startup', headers: { 'if-none-match': baselineTag } });
    expect(atStartup.statusCode).toBe(200);
  });

  it('answers every documented read with a body that matches the committed OpenAPI document', async () => {
    for (const url of [
      '/v1/meta',
      '/v1/roles?limit=1&offset=1',
      '/v1/company-sizes',
      '/v1/sources',
      '/v1/competencies?q=team&category=people',
      '/v1/competencies?role=engineering-manager&minLevel=0&companySize=big-tech',
      '/v1/comparisons?roles=engineering-manager,tech-lead&companySize=big-tech&category=technical',
    ]) {
      await ok(url);
    }
  });

  it('sends JSON an export can read as it is: no Content-Disposition, UTF-8 JSON, byte-identical on repeat', async () => {
    const url = '/v1/comparisons/by-company-size?roles=tech-lead,engineering-manager';
    const [a, b] = [await app.inject(url), await app.inject(url)];
    expect(a.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(a.headers['content-disposition']).toBeUndefined();
    expect(b.body).toBe(a.body);
  });
});
