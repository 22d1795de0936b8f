import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Content, loadContent } from '../src/content/load.js';
import { openDatabase } from '../src/db/client.js';
import { Repository } from '../src/db/repository.js';
import { reusedInstrumentWarning, reusedReleaseWarning, seedDatabase } from '../src/db/seed.js';
import { migrationsFolder } from '../src/paths.js';
import { editJson, TempDirs } from './support/fixtures.js';

const EXPECTED_TABLES = [
  'assessment_documents',
  'assessment_id_keys',
  'assessments',
  'citations',
  'company_sizes',
  'competencies',
  'expectations',
  'idempotency_keys',
  'questions',
  'releases',
  'roles',
  'sources',
  'variants',
];
const KB_TABLES = ['releases', 'sources', 'roles', 'competencies', 'company_sizes', 'expectations', 'variants', 'citations', 'questions'];

const temp = new TempDirs();
const open: BetterSqlite3.Database[] = [];
afterEach(() => {
  for (const sqlite of open.splice(0)) if (sqlite.open) sqlite.close();
});
afterAll(() => temp.cleanup());

function openDb(path = ':memory:') {
  const handle = openDatabase(path);
  open.push(handle.sqlite);
  return { ...handle, repository: new Repository(handle.sqlite, handle.db) };
}

const tableNames = (sqlite: BetterSqlite3.Database) =>
  (sqlite.prepare("select name from sqlite_master where type = 'table' order by name").all() as { name: string }[]).map((r) => r.name);
const totalChanges = (sqlite: BetterSqlite3.Database) => (sqlite.prepare('select total_changes() as n').get() as { n: number }).n;
const rowCounts = (sqlite: BetterSqlite3.Database) =>
  Object.fromEntries(KB_TABLES.map((table) => [table, (sqlite.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n]));
const dump = (sqlite: BetterSqlite3.Database) =>
  Object.fromEntries(KB_TABLES.map((table) => [table, sqlite.prepare(`select * from ${table} order by rowid`).all()]));
const journalEntries = (): number => JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')).entries.length;

describe('migrations', () => {
  it('apply to an empty in-memory database', () => {
    const { sqlite } = openDb(':memory:');
    expect(tableNames(sqlite)).toEqual(expect.arrayContaining(EXPECTED_TABLES));
    const applied = sqlite.prepare('select count(*) as n from __drizzle_migrations').get() as { n: number };
    expect(applied.n).toBe(journalEntries());
    expect(sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('apply to a new file, creating its folder, in WAL mode with foreign keys on', () => {
    const path = join(temp.make(), 'nested', 'kb.sqlite');
    const { sqlite, repository } = openDb(path);
    expect(tableNames(sqlite)).toEqual(expect.arrayContaining(EXPECTED_TABLES));
    expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(repository.readiness()).toEqual({ database: true, migrations: true, storage: true });
  });

  it('are not re-applied when an existing file is opened again, and its data stays', () => {
    const path = join(temp.make(), 'kb.sqlite');
    const first = openDb(path);
    const content = loadContent();
    seedDatabase(first.db, content);
    const before = rowCounts(first.sqlite);
    first.sqlite.close();

    const second = openDb(path);
    expect(rowCounts(second.sqlite)).toEqual(before);
    expect((second.sqlite.prepare('select count(*) as n from __drizzle_migrations').get() as { n: number }).n).toBe(journalEntries());
    expect(seedDatabase(second.db, content).changed).toBe(false);
  });
});

describe('foreign keys', () => {
  it('reject an expectation that names a role that does not exist', () => {
    const { sqlite, db } = openDb();
    seedDatabase(db, loadContent());
    const competency = sqlite.prepare('select id from competencies limit 1').get() as { id: number };
    const insert = () =>
      sqlite
        .prepare('insert into expectations (role_id, competency_id, level, rationale, editorial) values (?, ?, 2, ?, 0)')
        .run(999_999, competency.id, 'bogus');
    expect(insert).toThrow(/FOREIGN KEY/);
  });

  it('reject a citation of a source that does not exist', () => {
    const { sqlite, db } = openDb();
    seedDatabase(db, loadContent());
    const expectation = sqlite.prepare('select id from expectations limit 1').get() as { id: number };
    const insert = () =>
      sqlite
        .prepare('insert into citations (source_id, expectation_id, claim) values (?, ?, ?)')
        .run('no-such-source', expectation.id, 'x');
    expect(insert).toThrow(/FOREIGN KEY/);
  });
});

describe('seedDatabase', () => {
  it('fills an empty database and reports the release', () => {
    const { sqlite, db } = openDb();
    const content = loadContent();
    const outcome = seedDatabase(db, content);
    expect(outcome).toEqual({
      changed: true,
      release: content.release,
      contentHash: content.contentHash,
      replacedContentHash: null,
      instrumentVersion: content.instrumentVersion,
      replacedInstrumentHash: null,
    });
    const citations = [...content.expectations, ...content.variants].reduce((n, e) => n + e.citations.length, 0);
    expect(rowCounts(sqlite)).toEqual({
      releases: 1,
      sources: content.sources.length,
      roles: content.roles.length,
      competencies: content.competencies.length,
      company_sizes: content.companySizes.length,
      expectations: content.expectations.length,
      variants: content.variants.length,
      citations,
      questions: content.questions.length,
    });
  });

  it('is a no-op the second time: nothing is written', () => {
    const { sqlite, db } = openDb();
    const content = loadContent();
    seedDatabase(db, content);
    const counts = rowCounts(sqlite);
    const changes = totalChanges(sqlite);
    const rows = dump(sqlite);

    const outcome = seedDatabase(db, loadContent());
    expect(outcome.changed).toBe(false);
    expect(outcome.contentHash).toBe(content.contentHash);
    expect(totalChanges(sqlite)).toBe(changes);
    expect(rowCounts(sqlite)).toEqual(counts);
    expect(dump(sqlite)).toEqual(rows);
  });

  it('applies changed content: new levels and rationales are read back', () => {
    const { db, repository } = openDb();
    const original = loadContent();
    seedDatabase(db, original);

    const folder = temp.seedCopy();
    const target = original.expectations[0]!;
    const newLevel = target.level === 4 ? 2 : target.level + 1;
    editJson(folder, 'expectations.json', (data) => {
      const entry = data.find((e: { role: string; competency: string }) => e.role === target.role && e.competency === target.competency);
      entry.level = newLevel;
      entry.rationale = 'A revised rationale for this expectation.';
    });
    const changed = loadContent(folder);
    expect(changed.contentHash).not.toBe(original.contentHash);

    const outcome = seedDatabase(db, changed);
    // The release id was left as it was: the outcome names the content it no longer stands for.
    expect(outcome).toEqual({
      changed: true,
      release: changed.release,
      contentHash: changed.contentHash,
      replacedContentHash: original.contentHash,
      instrumentVersion: original.instrumentVersion,
      replacedInstrumentHash: null,
    });
    const kb = repository.readKnowledgeBase();
    expect(kb.release.contentHash).toBe(changed.contentHash);
    const readBack = kb.expectations.find((e) => e.role === target.role && e.competency === target.competency)!;
    expect(readBack.level).toBe(newLevel);
    expect(readBack.rationale).toBe('A revised rationale for this expectation.');
    expect(kb.expectations).toHaveLength(original.expectations.length);

    expect(seedDatabase(db, changed)).toMatchObject({ changed: false, replacedContentHash: null });
  });

  it('replaces no release id when the changed content comes with a new one', () => {
    const { db } = openDb();
    seedDatabase(db, loadContent());
    const folder = temp.seedCopy();
    editJson(folder, 'release.json', () => ({ release: '2099.1.0' }));
    editJson(folder, 'roles.json', (data: { summary: string }[]) =>
      data.map((r, i) => (i === 0 ? { ...r, summary: `${r.summary} Edited.` } : r)),
    );
    expect(seedDatabase(db, loadContent(folder))).toMatchObject({ changed: true, release: '2099.1.0', replacedContentHash: null });
  });

  // Guards against: only the current release was compared, so content seeded under an id an
  // earlier release held (release.json set back from 2099.1.0) overwrote that release's row unwarned.
  /** A database seeded with the shipped content, then with a newer release 2099.1.0. */
  const movedOn = () => {
    const { db } = openDb();
    const original = loadContent();
    seedDatabase(db, original);
    const newer = temp.seedCopy();
    editJson(newer, 'release.json', () => ({ release: '2099.1.0' }));
    expect(seedDatabase(db, loadContent(newer))).toMatchObject({ changed: true, replacedContentHash: null });
    return { db, original };
  };

  it('names the content an earlier, no longer current release id stood for when that id comes back with other content', () => {
    const { db, original } = movedOn();

    const back = temp.seedCopy();
    editJson(back, 'roles.json', (data: { summary: string }[]) =>
      data.map((r, i) => (i === 0 ? { ...r, summary: `${r.summary} Edited.` } : r)),
    );
    const edited = loadContent(back);
    expect(edited.release).toBe(original.release);
    const outcome = seedDatabase(db, edited);
    expect(outcome).toEqual({
      changed: true,
      release: original.release,
      contentHash: edited.contentHash,
      replacedContentHash: original.contentHash,
      instrumentVersion: original.instrumentVersion,
      replacedInstrumentHash: null,
    });
    expect(reusedReleaseWarning(outcome)).toContain(original.contentHash);
  });

  it('warns of nothing when an earlier release id comes back with the content it had', () => {
    const { db, original } = movedOn();
    expect(seedDatabase(db, original)).toMatchObject({ changed: true, release: original.release, replacedContentHash: null });
  });

  /** A copy of the seed whose first question reads otherwise, under a new release id. */
  const reworded = (instrumentVersion?: string) => {
    const folder = temp.seedCopy();
    editJson(folder, 'release.json', () => ({ release: '2099.2.0' }));
    editJson(folder, 'questions.json', (data: { instrumentVersion: string; questions: { prompt: string }[] }) => ({
      instrumentVersion: instrumentVersion ?? data.instrumentVersion,
      questions: data.questions.map((q, i) => (i === 0 ? { ...q, prompt: `${q.prompt.slice(0, -1)}, most weeks.` } : q)),
    }));
    return loadContent(folder);
  };

  // Guards against (from a review): a release could reword a question under the instrument version
  // an earlier release gave the old wording, and nothing said so: results scored on either carried
  // the same versions.instrument.
  it('names the questions an instrument version stood for when a new release gives it other questions', () => {
    const { db } = openDb();
    const original = loadContent();
    seedDatabase(db, original);
    const changed = reworded();
    expect(changed.instrumentHash).not.toBe(original.instrumentHash);
    const outcome = seedDatabase(db, changed);
    expect(outcome).toMatchObject({ changed: true, replacedContentHash: null, replacedInstrumentHash: original.instrumentHash });
    expect(reusedInstrumentWarning(outcome)).toBe(
      `instrument ${original.instrumentVersion} named other questions before (${original.instrumentHash}): bump \`instrumentVersion\` in seed/questions.json so that results tell the two apart`,
    );
    // Set back to the first wording: the version named the reworded questions in between.
    const back = temp.seedCopy();
    editJson(back, 'release.json', () => ({ release: '2099.3.0' }));
    expect(seedDatabase(db, loadContent(back))).toMatchObject({ changed: true, replacedInstrumentHash: changed.instrumentHash });
  });

  it('warns of nothing when other questions come with a new instrument version, or a release keeps the questions', () => {
    const { db } = openDb();
    const original = loadContent();
    seedDatabase(db, original);
    const outcome = seedDatabase(db, reworded('2099.1'));
    expect(outcome).toMatchObject({ changed: true, instrumentVersion: '2099.1', replacedInstrumentHash: null });
    expect(reusedInstrumentWarning(outcome)).toBeUndefined();
    const sameQuestions = temp.seedCopy();
    editJson(sameQuestions, 'release.json', () => ({ release: '2099.4.0' }));
    editJson(sameQuestions, 'roles.json', (data: { summary: string }[]) =>
      data.map((r, i) => (i === 0 ? { ...r, summary: `${r.summary} Edited.` } : r)),
    );
    expect(seedDatabase(db, loadContent(sameQuestions))).toMatchObject({ changed: true, replacedInstrumentHash: null });
  });

  it('keeps, once, the hash of the questions of a release seeded before it was kept, and then tells a change', () => {
    const { sqlite, db } = openDb();
    const original = loadContent();
    seedDatabase(db, original);
    sqlite.prepare('update releases set instrument_hash = null').run();
    expect(seedDatabase(db, original)).toMatchObject({ changed: false, replacedInstrumentHash: null });
    expect(sqlite.prepare('select instrument_hash from releases').pluck().all()).toEqual([original.instrumentHash]);
    const changes = totalChanges(sqlite);
    expect(seedDatabase(db, original).changed).toBe(false);
    expect(totalChanges(sqlite)).toBe(changes);
    expect(seedDatabase(db, reworded())).toMatchObject({ replacedInstrumentHash: original.instrumentHash });
  });

  // Guards against (from a review): the hash of such a release was kept only when the same release was
  // seeded again, so a deploy that brought a new release with other questions went unwarned.
  it('takes the hash of the questions of a release seeded before it was kept from the database when a new release comes', () => {
    const { sqlite, db } = openDb();
    const original = loadContent();
    seedDatabase(db, original);
    sqlite.prepare('update releases set instrument_hash = null').run();
    const changed = reworded();
    expect(seedDatabase(db, changed)).toMatchObject({ changed: true, replacedInstrumentHash: original.instrumentHash });
    expect(sqlite.prepare('select id, instrument_hash as hash from releases order by seeded_at, id').all()).toEqual([
      { id: original.release, hash: original.instrumentHash },
      { id: changed.release, hash: changed.instrumentHash },
    ]);
  });

  it('reads one release whole while another connection seeds a new one between its queries', () => {
    const path = join(temp.make('rc-seed-race-'), 'kb.sqlite');
    const reader = openDb(path);
    const original = loadContent();
    seedDatabase(reader.db, original);
    const writer = openDb(path);
    const folder = temp.seedCopy();
    editJson(folder, 'release.json', () => ({ release: '2099.1.0' }));
    const next = loadContent(folder);
    // Another process (a second server starting, db:seed) commits a new release after the reader has
    // read the citations and before it reads the expectations, whose ids the reseed renumbers.
    let selects = 0;
    const interleaved = new Proxy(reader.db, {
      get(target, property, receiver) {
        if (property !== 'select') return Reflect.get(target, property, receiver);
        return (...args: Parameters<typeof target.select>) => {
          if (++selects === 8) seedDatabase(writer.db, next);
          return target.select(...args);
        };
      },
    });
    const kb = new Repository(reader.sqlite, interleaved).readKnowledgeBase();
    expect(selects).toBeGreaterThanOrEqual(8);
    expect(writer.repository.readKnowledgeBase().release.id).toBe('2099.1.0');
    // Guards against: the reads ran outside one transaction, so the expectations of the new release
    // were paired with the citations of the old one, and every expectation lost its citations.
    expect(kb.release.id).toBe(original.release);
    expect(kb.expectations.map((e) => e.citations)).toEqual(
      kb.expectations.map((e) => original.expectations.find((x) => x.role === e.role && x.competency === e.competency)?.citations),
    );
  });

  it('keeps role, competency and company size ids stable across a reseed', () => {
    const { sqlite, db } = openDb();
    const original = loadContent();
    seedDatabase(db, original);
    const ids = () => ({
      roles: sqlite.prepare('select slug, id from roles order by slug').all(),
      competencies: sqlite.prepare('select slug, id from competencies order by slug').all(),
      sizes: sqlite.prepare('select slug, id from company_sizes order by slug').all(),
    });
    const before = ids();
    const folder = temp.seedCopy();
    editJson(folder, 'roles.json', (data) => {
      data[0].summary = `${data[0].summary} Revised.`;
    });
    expect(seedDatabase(db, loadContent(folder)).changed).toBe(true);
    expect(ids()).toEqual(before);
  });

  it('removes what a new release drops', () => {
    const { db, repository } = openDb();
    const original = loadContent();
    seedDatabase(db, original);
    const dropped = original.competencies[original.competencies.length - 1]!.slug;
    const folder = temp.seedCopy();
    editJson(folder, 'competencies.json', (data) => data.filter((c: { slug: string }) => c.slug !== dropped));
    editJson(folder, 'expectations.json', (data) => data.filter((e: { competency: string }) => e.competency !== dropped));
    editJson(folder, 'variants.json', (data) => data.filter((v: { competency: string }) => v.competency !== dropped));
    editJson(folder, 'questions.json', (data) => ({
      ...data,
      questions: data.questions.filter((q: { competency: string }) => q.competency !== dropped),
    }));
    const next = loadContent(folder);

    expect(seedDatabase(db, next).changed).toBe(true);
    const kb = repository.readKnowledgeBase();
    expect(kb.competencies.map((c) => c.slug)).not.toContain(dropped);
    expect(kb.expectations).toHaveLength(next.roles.length * next.competencies.length);
    expect(kb.questions.map((q) => q.competency)).not.toContain(dropped);
  });

  it('makes a newer release current even when it is seeded within the same millisecond', () => {
    const { db, repository } = openDb();
    const original = loadContent();
    const folder = temp.seedCopy();
    editJson(folder, 'release.json', () => ({ release: '2099.1.0' }));
    const next = loadContent(folder);
    const instant = new Date('2026-11-01T12:00:00.000Z');

    seedDatabase(db, original, () => instant);
    seedDatabase(db, next, () => instant);
    expect(repository.readKnowledgeBase().release.id).toBe(next.release);
    expect(seedDatabase(db, next, () => instant).changed).toBe(false);
  });

  it('leaves the database untouched when seeding fails part-way', () => {
    const { sqlite, db, repository } = openDb();
    const original = loadContent();
    seedDatabase(db, original);
    const before = dump(sqlite);
    const kbBefore = repository.readKnowledgeBase();

    // The loader would reject this; seedDatabase only fails once it reaches the variant, after many writes.
    const broken: Content = {
      ...original,
      release: '2099.1.0',
      contentHash: 'sha256:broken',
      roles: original.roles.map((r) => ({ ...r, summary: `${r.summary} (changed)` })),
      variants: [...original.variants, { ...original.variants[0]!, companySize: 'no-such-size' }],
    };
    expect(() => seedDatabase(db, broken)).toThrow(/no-such-size/);

    expect(dump(sqlite)).toEqual(before);
    expect(repository.readKnowledgeBase()).toEqual(kbBefore);
    expect(seedDatabase(db, original).changed).toBe(false);
  });
});

describe('the knowledge base read back from the database', () => {
  const content = loadContent();
  const { sqlite, db } = openDatabase(':memory:');
  seedDatabase(db, content);
  const repository = new Repository(sqlite, db);
  afterAll(() => repository.close());
  const kb = repository.readKnowledgeBase();

  it('has the release, content hash and instrument version of the seed', () => {
    expect(kb.release).toMatchObject({
      id: content.release,
      contentHash: content.contentHash,
      instrumentVersion: content.instrumentVersion,
    });
    expect(Number.isNaN(Date.parse(kb.release.seededAt))).toBe(false);
  });

  it('has the sources, roles and competencies of the seed, in seed order', () => {
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect([...kb.sources].sort(byId)).toEqual([...content.sources].sort(byId));
    expect(kb.roles).toEqual(content.roles);
    expect(kb.competencies).toEqual(content.competencies);
  });

  it('has the company sizes in seed order, numbered from 1', () => {
    expect(kb.companySizes).toEqual(content.companySizes.map((size, i) => ({ ...size, order: i + 1 })));
  });

  it('has every expectation with its level, rationale, citations and variants', () => {
    const sizeOrder = content.companySizes.map((s) => s.slug);
    const expected = content.roles.flatMap((role) =>
      content.competencies.map((competency) => {
        const e = content.expectations.find((x) => x.role === role.slug && x.competency === competency.slug)!;
        const variants = content.variants
          .filter((v) => v.role === e.role && v.competency === e.competency)
          .sort((a, b) => sizeOrder.indexOf(a.companySize) - sizeOrder.indexOf(b.companySize))
          .map((v) => ({
            companySize: v.companySize,
            level: v.level,
            rationale: v.rationale,
            editorial: v.editorial,
            citations: v.citations,
          }));
        return { ...e, variants };
      }),
    );
    expect(kb.expectations).toEqual(expected);
  });

  it('has the questions in seed order, numbered from 1', () => {
    expect(kb.questions).toEqual(content.questions.map((q, i) => ({ ...q, order: i + 1 })));
  });
});
