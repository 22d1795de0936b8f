// Exports for HR tools: the whole release as one JSON document, and every level as CSV for a
// spreadsheet. Both must say exactly what the paged read routes say.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { csvCell } from '../src/domain/export.js';
import { buildTestApp } from './helpers.js';
import { fieldsOf, problemOf } from './support/http.js';
import { getDocumented } from './support/openapi.js';

type Citation = { source: string; claim: string };
type Variant = { companySize: string; level: number; rationale: string; editorial: boolean; citations: Citation[] };
type Expectation = {
  competency: { slug: string; name: string; category: string };
  level: number;
  baselineLevel: number;
  variant: Variant | null;
  rationale: string;
  editorial: boolean;
  citations: Citation[];
};
type RoleDetail = { slug: string; name: string; expectations: Expectation[] };
type Page<T> = { items: T[]; total: number };
type Export = {
  kbRelease: string;
  kbContentHash: string;
  instrumentVersion: string;
  sources: unknown[];
  roles: { slug: string; name: string }[];
  competencies: { slug: string }[];
  companySizes: { slug: string }[];
  expectations: {
    role: string;
    competency: string;
    level: number;
    rationale: string;
    editorial: boolean;
    citations: Citation[];
    variants: Variant[];
  }[];
  questions: unknown[];
};

/** RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else {
      field += ch;
    }
  }
  expect(quoted, 'an unterminated quoted field').toBe(false);
  expect(record.length === 0 && field === '', 'the last record ends with CRLF').toBe(true);
  return records;
}

let app: App;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const ok = async <T>(url: string): Promise<T> => {
  const response = await getDocumented(app, url);
  expect(response.statusCode, url).toBe(200);
  return JSON.parse(response.body) as T;
};

const SIZES = ['startup', 'scale-up', 'big-tech'];

describe('GET /v1/exports/knowledge-base', () => {
  it('holds every entity the paged routes serve, unpaged, with the release and content hash /v1/meta gives', async () => {
    const exported = await ok<Export>('/v1/exports/knowledge-base');
    const meta = await ok<{ kbRelease: string; contentHash: string; instrumentVersion: string; counts: Record<string, number> }>(
      '/v1/meta',
    );
    expect([exported.kbRelease, exported.kbContentHash, exported.instrumentVersion]).toEqual([
      meta.kbRelease,
      meta.contentHash,
      meta.instrumentVersion,
    ]);
    expect(exported.roles).toEqual((await ok<Page<unknown>>('/v1/roles?limit=200')).items);
    expect(exported.competencies).toEqual((await ok<Page<unknown>>('/v1/competencies?limit=200')).items);
    expect(exported.companySizes).toEqual((await ok<Page<unknown>>('/v1/company-sizes?limit=200')).items);
    expect(exported.sources).toEqual((await ok<Page<unknown>>('/v1/sources?limit=200')).items);
    expect(exported.questions).toEqual((await ok<{ questions: unknown[] }>('/v1/assessment/questions')).questions);
    expect(exported.expectations).toHaveLength(meta.counts.expectations as number);
    expect(exported.expectations.flatMap((e) => e.variants)).toHaveLength(meta.counts.variants as number);
  });

  it('gives each expectation the baseline and the variants the role route applies at each size', async () => {
    const exported = await ok<Export>('/v1/exports/knowledge-base');
    expect(exported.expectations).toHaveLength(exported.roles.length * exported.competencies.length);
    for (const role of exported.roles) {
      const baseline = await ok<RoleDetail>(`/v1/roles/${role.slug}`);
      const bySize = new Map<string, RoleDetail>();
      for (const size of SIZES) bySize.set(size, await ok<RoleDetail>(`/v1/roles/${role.slug}?companySize=${size}`));
      for (const served of baseline.expectations) {
        const e = exported.expectations.find((x) => x.role === role.slug && x.competency === served.competency.slug);
        expect(e, `${role.slug}/${served.competency.slug}`).toBeDefined();
        expect([e?.level, e?.rationale, e?.editorial, e?.citations]).toEqual([
          served.level,
          served.rationale,
          served.editorial,
          served.citations,
        ]);
        const applied = SIZES.map(
          (size) => bySize.get(size)?.expectations.find((x) => x.competency.slug === served.competency.slug)?.variant,
        );
        expect(e?.variants).toEqual(applied.filter((v) => v !== null && v !== undefined));
      }
    }
  });
});

describe('GET /v1/exports/levels.csv', () => {
  const COLUMNS = [
    'role',
    'role_name',
    'competency',
    'competency_name',
    'category',
    'company_size',
    'level',
    'level_name',
    'baseline_level',
    'variant',
    'editorial',
    'sources',
    'rationale',
  ];
  const LEVEL_NAMES = ['none', 'occasional', 'regular', 'core', 'defining'];

  it('is a CSV download named after the release, the name readable by a page on another origin', async () => {
    const response = await getDocumented(app, '/v1/exports/levels.csv', { origin: 'https://hr.example' });
    expect(response.statusCode).toBe(200);
    expect(String(response.headers['access-control-expose-headers']).toLowerCase()).toContain('content-disposition');
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="role-competency-levels-${app.kb.release.id}.csv"`);
  });

  it('has one row per role, competency and size (baseline first) with what the role route says of it', async () => {
    const records = parseCsv((await getDocumented(app, '/v1/exports/levels.csv')).body);
    expect(records[0]).toEqual(COLUMNS);
    const rows = records.slice(1).map((r) => Object.fromEntries(COLUMNS.map((c, i) => [c, r[i]])) as Record<string, string>);
    expect(records.slice(1).every((r) => r.length === COLUMNS.length)).toBe(true);
    const roles = (await ok<Page<{ slug: string; name: string }>>('/v1/roles')).items;
    const competencies = (await ok<Page<{ slug: string }>>('/v1/competencies?limit=200')).items;
    expect(rows).toHaveLength(roles.length * competencies.length * (1 + SIZES.length));

    let index = 0;
    for (const role of roles) {
      for (const competency of competencies) {
        for (const size of [null, ...SIZES]) {
          const detail = await ok<RoleDetail>(`/v1/roles/${role.slug}${size ? `?companySize=${size}` : ''}`);
          const served = detail.expectations.find((e) => e.competency.slug === competency.slug) as Expectation;
          expect(rows[index++], `${role.slug}/${competency.slug}/${size}`).toEqual({
            role: role.slug,
            role_name: role.name,
            competency: served.competency.slug,
            competency_name: served.competency.name,
            category: served.competency.category,
            company_size: size ?? '',
            level: String(served.level),
            level_name: LEVEL_NAMES[served.level],
            baseline_level: String(served.baselineLevel),
            variant: String(served.variant !== null),
            editorial: String(served.editorial),
            sources: [...new Set(served.citations.map((c) => c.source))].join(' '),
            rationale: served.rationale,
          });
        }
      }
    }
    // Some rows differ from their baseline: the variants are in it.
    expect(rows.some((r) => r.variant === 'true' && r.level !== r.baseline_level)).toBe(true);
  });

  it('refuses query parameters, naming them', async () => {
    for (const url of ['/v1/exports/levels.csv?role=tech-lead', '/v1/exports/knowledge-base?role=tech-lead']) {
      expect(fieldsOf(problemOf(await app.inject(url), 400))).toEqual(['querystring.role']);
    }
  });
});

describe('csvCell', () => {
  it.each([
    ['plain', 'plain'],
    ['a, b', '"a, b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\r\nlines', '"two\r\nlines"'],
    ['line\nbreak', '"line\nbreak"'],
    ['=SUM(A1:A2)', "'=SUM(A1:A2)"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@cmd', "'@cmd"],
    ['=HYPERLINK("x","y")', `"'=HYPERLINK(""x"",""y"")"`],
    ['', ''],
  ])('%j -> %s', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it('writes numbers and booleans as they are', () => {
    expect([csvCell(3), csvCell(0), csvCell(true), csvCell(false)]).toEqual(['3', '0', 'true', 'false']);
  });
});
