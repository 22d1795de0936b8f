import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContentError, loadContent } from '../src/content/load.js';
import { editJson, readRawSeed, TempDirs, writeRaw } from './support/fixtures.js';

const REQUIRED_ROLES = ['tech-lead', 'engineering-manager'];
const REQUIRED_SIZES_IN_ORDER = ['startup', 'scale-up', 'big-tech'];
const REQUIRED_COMPETENCIES = [
  'hands-on-coding',
  'code-review',
  'system-design',
  'technical-decision-making',
  'production-incident-response',
  'technical-expertise',
  'technical-mentoring',
  'career-development',
  'hiring',
  'performance-reviews',
  'team-culture',
  'resourcing',
  'vision-and-strategy',
  'project-management',
  'process-improvement',
  'communication-and-alignment',
  'meeting-facilitation',
  'cross-functional-collaboration',
  'stakeholder-management',
  'team-ownership',
];

const temp = new TempDirs();
afterAll(() => temp.cleanup());

describe('the real seed content', () => {
  const content = loadContent();

  it('validates and keeps every file', () => {
    const raw = readRawSeed();
    expect(content.release).toBe(raw.release);
    expect(content.roles).toHaveLength(raw.roles.length);
    expect(content.competencies).toHaveLength(raw.competencies.length);
    expect(content.companySizes).toHaveLength(raw.companySizes.length);
    expect(content.expectations).toHaveLength(raw.expectations.length);
    expect(content.variants).toHaveLength(raw.variants.length);
    expect(content.questions).toHaveLength(raw.questions.questions.length);
    expect(content.sources).toHaveLength(raw.sources.length);
    expect(content.instrumentVersion).toBe(raw.questions.instrumentVersion);
  });

  it('has the required roles, competencies and company sizes (sizes in order)', () => {
    const roleSlugs = content.roles.map((r) => r.slug);
    const competencySlugs = content.competencies.map((c) => c.slug);
    expect(roleSlugs).toEqual(expect.arrayContaining(REQUIRED_ROLES));
    expect(competencySlugs).toEqual(expect.arrayContaining(REQUIRED_COMPETENCIES));
    expect(content.companySizes.map((s) => s.slug)).toEqual(REQUIRED_SIZES_IN_ORDER);
  });

  it('has company sizes whose headcount ranges follow each other without gaps', () => {
    content.companySizes.forEach((size, i) => {
      const next = content.companySizes[i + 1];
      if (next) expect(next.headcountMin).toBe((size.headcountMax ?? Number.NaN) + 1);
      else expect(size.headcountMax).toBeNull();
    });
  });

  it('has a complete matrix: exactly one expectation for every role x competency', () => {
    const counts = new Map<string, number>();
    for (const e of content.expectations) counts.set(`${e.role}/${e.competency}`, (counts.get(`${e.role}/${e.competency}`) ?? 0) + 1);
    for (const role of content.roles) {
      for (const competency of content.competencies) {
        expect(counts.get(`${role.slug}/${competency.slug}`), `${role.slug}/${competency.slug}`).toBe(1);
      }
    }
    expect(content.expectations).toHaveLength(content.roles.length * content.competencies.length);
  });

  it('cites every expectation and variant, or marks it editorial', () => {
    const entries = [...content.expectations, ...content.variants];
    const uncited = entries.filter((e) => !e.editorial && e.citations.length === 0);
    expect(uncited).toEqual([]);
  });

  it('cites only known sources, with a claim', () => {
    const sourceIds = new Set(content.sources.map((s) => s.id));
    const citations = [...content.expectations, ...content.variants].flatMap((e) => e.citations);
    expect(citations.length).toBeGreaterThan(0);
    for (const citation of citations) {
      expect(sourceIds, citation.source).toContain(citation.source);
      expect(citation.claim.trim().length).toBeGreaterThan(0);
    }
  });

  it('has variants only for known pairs and sizes, at most one per pair and size', () => {
    const sizes = new Set(content.companySizes.map((s) => s.slug));
    const pairs = new Set(content.expectations.map((e) => `${e.role}/${e.competency}`));
    const keys = content.variants.map((v) => `${v.role}/${v.competency}@${v.companySize}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const v of content.variants) {
      expect(pairs).toContain(`${v.role}/${v.competency}`);
      expect(sizes).toContain(v.companySize);
    }
  });

  it('has a question bank of at least 24 items, one or more per competency, a quarter reverse-keyed, with unique ids', () => {
    const { questions } = content;
    expect(questions.length).toBeGreaterThanOrEqual(24);
    const measured = new Set(questions.map((q) => q.competency));
    for (const c of content.competencies) expect(measured, c.slug).toContain(c.slug);
    const minus = questions.filter((q) => q.keyed === 'minus').length;
    expect(minus / questions.length).toBeGreaterThanOrEqual(0.25);
    expect(new Set(questions.map((q) => q.id)).size).toBe(questions.length);
  });

  it('has a content hash that is stable across loads and across an identical copy', () => {
    expect(content.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(loadContent().contentHash).toBe(content.contentHash);
    expect(loadContent(temp.seedCopy()).contentHash).toBe(content.contentHash);
  });

  it('has a content hash that changes when the content changes', () => {
    const rationale = temp.seedCopy();
    editJson(rationale, 'expectations.json', (data) => {
      data[0].rationale = `${data[0].rationale} (revised)`;
    });
    const level = temp.seedCopy();
    editJson(level, 'expectations.json', (data) => {
      data[0].level = data[0].level === 0 ? 1 : data[0].level - 1;
    });
    const release = temp.seedCopy();
    editJson(release, 'release.json', () => ({ release: '2099.1.0' }));

    const hashes = [content.contentHash, ...[rationale, level, release].map((dir) => loadContent(dir).contentHash)];
    expect(new Set(hashes).size).toBe(hashes.length);
  });
});

/** Loads a corrupted copy of seed/ and returns the ContentError it must fail with. */
function contentErrorOf(corrupt: (folder: string) => void): ContentError {
  const folder = temp.seedCopy();
  corrupt(folder);
  try {
    loadContent(folder);
  } catch (error) {
    expect(error).toBeInstanceOf(ContentError);
    return error as ContentError;
  }
  throw new Error('loadContent accepted broken content');
}

describe('broken seed content', () => {
  it('rejects a file that is not valid JSON, naming the file', () => {
    const error = contentErrorOf((dir) => writeRaw(dir, 'roles.json', '[{ "slug": "tech-lead", '));
    expect(error.file).toBe('roles.json');
    expect(error.message).toContain('roles.json');
    expect(error.message).toMatch(/JSON/);
  });

  it('rejects a missing file, naming it', () => {
    const error = contentErrorOf((dir) => rmSync(join(dir, 'variants.json')));
    expect(error.file).toBe('variants.json');
    expect(error.message).toContain('variants.json');
    expect(error.message).not.toMatch(/JSON/);
  });

  it('rejects a level out of range, naming the file and field', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'expectations.json', (data) => {
        data[0].level = 7;
      }),
    );
    expect(error.file).toBe('expectations.json');
    expect(error.field).toBe('[0].level');
    expect(error.message).toContain('expectations.json');
    expect(error.message).toContain('[0].level');
  });

  it('rejects a value of the wrong type, naming the field', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'company-sizes.json', (data) => {
        data[1].headcountMin = 'fifty';
      }),
    );
    expect(error.file).toBe('company-sizes.json');
    expect(error.message).toContain('company-sizes.json');
    expect(error.message).toContain('[1].headcountMin');
  });

  it('rejects an unknown field, naming the entry and the key', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'roles.json', (data) => {
        data[1].colour = 'blue';
      }),
    );
    expect(error.file).toBe('roles.json');
    expect(error.field).toBe('[1]');
    expect(error.message).toContain('roles.json');
    expect(error.message).toContain('colour');
  });

  it('rejects a citation of an unknown source, naming the field and the source', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'expectations.json', (data) => {
        const i = data.findIndex((e: { citations?: unknown[] }) => (e.citations?.length ?? 0) > 0);
        data[i].citations[0].source = 'no-such-source';
        // Put the entry first so the field is predictable.
        data.unshift(...data.splice(i, 1));
      }),
    );
    expect(error.file).toBe('expectations.json');
    expect(error.field).toBe('[0].citations[0].source');
    expect(error.message).toContain('no-such-source');
  });

  it('rejects a variant citing an unknown source', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'variants.json', (data) => {
        data[0].editorial = false;
        data[0].citations = [{ source: 'made-up', claim: 'Something nobody said.' }];
      }),
    );
    expect(error.file).toBe('variants.json');
    expect(error.field).toBe('[0].citations[0].source');
  });

  it('rejects a variant for an unknown company size', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'variants.json', (data) => {
        data[0].companySize = 'enterprise';
      }),
    );
    expect(error.file).toBe('variants.json');
    expect(error.field).toBe('[0].companySize');
    expect(error.message).toContain('enterprise');
  });

  it('rejects an incomplete matrix, naming the missing pair', () => {
    const raw = readRawSeed();
    const dropped = raw.expectations[raw.expectations.length - 1]!;
    const error = contentErrorOf((dir) =>
      editJson(dir, 'expectations.json', (data) => {
        data.pop();
      }),
    );
    expect(error.file).toBe('expectations.json');
    expect(error.message).toContain('expectations.json');
    expect(error.message).toContain(`${dropped.role}/${dropped.competency}`);
  });

  it('rejects a new competency that has no expectations', () => {
    const error = contentErrorOf((dir) => {
      editJson(dir, 'competencies.json', (data) => {
        data.push({ slug: 'budgeting', name: 'Budgeting', category: 'strategy', description: 'Plans and defends a budget.' });
      });
    });
    expect(error.file).toBe('expectations.json');
    expect(error.message).toContain('budgeting');
  });

  it('rejects a duplicate expectation for the same pair', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'expectations.json', (data) => {
        data.push({ ...data[0] });
      }),
    );
    expect(error.file).toBe('expectations.json');
    expect(error.message).toMatch(/duplicate/);
  });

  it('rejects an uncited entry that is not editorial, naming the field', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'expectations.json', (data) => {
        data[3].editorial = false;
        data[3].citations = [];
      }),
    );
    expect(error.file).toBe('expectations.json');
    expect(error.field).toBe('[3].citations');
    expect(error.message).toContain('[3].citations');
  });

  it('rejects an uncited entry whose editorial flag is simply missing', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'variants.json', (data) => {
        delete data[2].editorial;
        delete data[2].citations;
      }),
    );
    expect(error.file).toBe('variants.json');
    expect(error.field).toBe('[2].citations');
  });

  it('rejects a duplicate role slug, naming the duplicate entry', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'roles.json', (data) => {
        data.push({ ...data[0] });
      }),
    );
    const rolesCount = readRawSeed().roles.length;
    expect(error.file).toBe('roles.json');
    expect(error.field).toBe(`[${rolesCount}].slug`);
    expect(error.message).toMatch(/duplicate/);
  });

  it('rejects a duplicate competency slug', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'competencies.json', (data) => {
        data[1].slug = data[0].slug;
      }),
    );
    expect(error.file).toBe('competencies.json');
    expect(error.field).toBe('[1].slug');
  });

  it('rejects a duplicate question id', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'questions.json', (data) => {
        data.questions[1].id = data.questions[0].id;
      }),
    );
    expect(error.file).toBe('questions.json');
    expect(error.field).toBe('questions[1].id');
  });

  it('rejects a question bank that leaves a competency unmeasured', () => {
    const raw = readRawSeed();
    const target = raw.questions.questions[0]!.competency;
    const error = contentErrorOf((dir) =>
      editJson(dir, 'questions.json', (data) => {
        data.questions = data.questions.filter((q: { competency: string }) => q.competency !== target);
      }),
    );
    expect(error.file).toBe('questions.json');
    expect(error.message).toContain(target);
  });

  it('rejects a question about an unknown competency', () => {
    const error = contentErrorOf((dir) =>
      editJson(dir, 'questions.json', (data) => {
        data.questions[0].competency = 'juggling';
      }),
    );
    expect(error.file).toBe('questions.json');
    expect(error.field).toBe('questions[0].competency');
  });
});
