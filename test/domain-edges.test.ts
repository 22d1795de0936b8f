/**
 * The domain logic and the content pipeline at their edges: highlights for avoided competencies,
 * a variant that keeps its baseline level, and reseeding a changed release.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Content, loadContent } from '../src/content/load.js';
import { openDatabase } from '../src/db/client.js';
import { Repository } from '../src/db/repository.js';
import { seedDatabase } from '../src/db/seed.js';
import { assess } from '../src/domain/assessment.js';
import { competencyDetail, roleDetail } from '../src/domain/catalog.js';
import { KnowledgeBase } from '../src/domain/knowledge-base.js';
import { editJson, TempDirs } from './support/fixtures.js';

const temp = new TempDirs();
const open: BetterSqlite3.Database[] = [];
afterEach(() => {
  for (const sqlite of open.splice(0)) if (sqlite.open) sqlite.close();
});
afterAll(() => temp.cleanup());

function openDb() {
  const handle = openDatabase(':memory:');
  open.push(handle.sqlite);
  return { ...handle, repository: new Repository(handle.sqlite, handle.db) };
}

function seededKnowledgeBase(): KnowledgeBase {
  const { db, repository } = openDb();
  seedDatabase(db, loadContent());
  return new KnowledgeBase(repository.readKnowledgeBase());
}

describe('scoring highlights (src/domain/scoring.ts)', () => {
  // For a competency both roles expect at the same level, the reason must not always say it "weighs more
  // in the <favoured role> profile": that holds only when the respondent is drawn to it; when they
  // avoid it, the favoured role is the one in whose centred profile it weighs LESS.
  it('names the right profile for an avoided competency that both roles expect at the same level', () => {
    const kb = seededKnowledgeBase();
    const competency = 'project-management';
    expect(kb.resolve('tech-lead', competency, null).level).toBe(kb.resolve('engineering-manager', competency, null).level);

    // Avoid project management (affinity 0), neutral on everything else.
    const answers = kb.data.questions.map((q) => ({
      questionId: q.id,
      value: q.competency === competency ? (q.keyed === 'plus' ? 1 : 5) : 3,
    }));
    const result = assess(kb, { answers });
    const highlight = result.highlights.find((h) => h.competency === competency);
    expect(highlight).toBeDefined();

    // The profile it weighs more in is the one whose fit it moves most (|e_rc| is larger).
    const row = result.breakdown.find((b) => b.competency === competency)!;
    const heavier = [...row.contributions].sort((a, b) => Math.abs(b.points) - Math.abs(a.points))[0]!.role;
    const heavierName = kb.roleBySlug.get(heavier)!.name;
    expect(highlight!.reason).toMatch(/weighs more in the .* profile/);
    expect(highlight!.reason).toContain(`weighs more in the ${heavierName} profile`);
  });
});

describe('a variant at its baseline level (src/domain/catalog.ts)', () => {
  // Guards against: `overridden` computed from the level differing from the baseline rather than from
  // a variant existing. A variant that changes only the rationale or citations at a size (the loader
  // allows one) then showed `overridden: false` in /v1/competencies/{slug}, while /v1/roles/{role}
  // at that size served the variant. The seed has no such variant today, so one is added here.
  it('is reported as overridden, and served with its own rationale', () => {
    const original = loadContent();
    const pairs = original.expectations.flatMap((e) => original.companySizes.map((size) => ({ e, size: size.slug })));
    const free = pairs.find(
      ({ e, size }) => !original.variants.some((v) => v.role === e.role && v.competency === e.competency && v.companySize === size),
    );
    if (!free) throw new Error('every expectation has a variant at every size');
    const { e: baseline, size } = free;
    const rationale = 'At this size the level is unchanged, for a reason of its own.';
    const folder = temp.seedCopy();
    editJson(folder, 'variants.json', (d) => [
      ...d,
      { role: baseline.role, competency: baseline.competency, companySize: size, level: baseline.level, rationale, editorial: true },
    ]);
    const { db, repository } = openDb();
    seedDatabase(db, loadContent(folder));
    const kb = new KnowledgeBase(repository.readKnowledgeBase());

    const role = competencyDetail(kb, baseline.competency).roles.find((r) => r.role === baseline.role);
    expect(role?.baselineLevel).toBe(baseline.level);
    expect(role?.byCompanySize.find((s) => s.companySize === size)).toEqual({ companySize: size, level: baseline.level, overridden: true });

    const expectation = roleDetail(kb, baseline.role, size).expectations.find((x) => x.competency.slug === baseline.competency);
    expect(expectation).toMatchObject({ level: baseline.level, baselineLevel: baseline.level, rationale, editorial: true, citations: [] });
    expect(expectation?.variant).toEqual({ companySize: size, level: baseline.level, rationale, editorial: true, citations: [] });
  });
});

describe('seedDatabase: a changed release leaves the database as a fresh seed would ', () => {
  const strip = (kb: ReturnType<Repository['readKnowledgeBase']>) => ({ ...kb, release: { ...kb.release, seededAt: '' } });
  const flip = (role: string) => (role === 'tech-lead' ? 'engineering-manager' : 'tech-lead');
  const edits: Record<string, (folder: string) => void> = {
    'company sizes reversed and one renamed': (f) => {
      editJson(f, 'company-sizes.json', (d) =>
        [...d].reverse().map((s: { slug: string }) => (s.slug === 'scale-up' ? { ...s, slug: 'growth' } : s)),
      );
      editJson(f, 'variants.json', (d) =>
        d.map((v: { companySize: string }) => (v.companySize === 'scale-up' ? { ...v, companySize: 'growth' } : v)),
      );
    },
    'role slugs swapped, competencies and questions reordered': (f) => {
      editJson(f, 'roles.json', (d) => [
        { ...d[0], slug: d[1].slug },
        { ...d[1], slug: d[0].slug },
      ]);
      for (const file of ['expectations.json', 'variants.json']) {
        editJson(f, file, (d) => d.map((e: { role: string }) => ({ ...e, role: flip(e.role) })));
      }
      editJson(f, 'competencies.json', (d) => [...d].reverse());
      editJson(f, 'questions.json', (d) => ({ ...d, questions: [...d.questions].reverse() }));
    },
    'a source dropped, its entries turned editorial, a variant dropped': (f) => {
      editJson(f, 'sources.json', (d) => d.filter((s: { id: string }) => s.id !== 'article-three-differences'));
      for (const file of ['expectations.json', 'variants.json']) {
        editJson(f, file, (d) =>
          d.map((e: { citations?: { source: string }[]; editorial?: boolean }) => {
            const citations = (e.citations ?? []).filter((c) => c.source !== 'article-three-differences');
            return { ...e, citations, editorial: citations.length === 0 ? true : (e.editorial ?? false) };
          }),
        );
      }
      editJson(f, 'variants.json', (d) => d.slice(1));
    },
  };

  for (const [name, edit] of Object.entries(edits)) {
    it(name, () => {
      const original = loadContent();
      const folder = temp.seedCopy();
      edit(folder);
      editJson(folder, 'release.json', () => ({ release: '2099.1.0' }));
      const next: Content = loadContent(folder);
      const reseeded = openDb();
      seedDatabase(reseeded.db, original);
      expect(seedDatabase(reseeded.db, next).changed).toBe(true);
      const fresh = openDb();
      seedDatabase(fresh.db, next);
      expect(strip(reseeded.repository.readKnowledgeBase())).toEqual(strip(fresh.repository.readKnowledgeBase()));
    });
  }
});
