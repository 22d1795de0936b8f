import { and, asc, eq, ne, notInArray, sql } from 'drizzle-orm';
import { type Content, instrumentHashOf } from '../content/load.js';
import type { Db } from './client.js';
import * as t from './schema.js';

/**
 * What seeding did. `replacedContentHash` is the hash of the content the database held under the
 * same release id (the current release's, or an earlier one's), when the seed files changed without
 * a new `release`: the id then names two contents, told apart only by their hashes. Null otherwise.
 * `replacedInstrumentHash` is the same for the questions and their `instrumentVersion`, which a
 * stored result carries: a release that rewords, adds or removes a question under the version an
 * earlier release gave other questions. Null otherwise, and for releases seeded before the hash of
 * their questions was kept.
 */
export type SeedOutcome = {
  changed: boolean;
  release: string;
  contentHash: string;
  replacedContentHash: string | null;
  instrumentVersion: string;
  replacedInstrumentHash: string | null;
};

/** What to tell whoever seeded content under a release id that named other content before, or undefined. */
export function reusedReleaseWarning({ release, replacedContentHash }: SeedOutcome): string | undefined {
  if (replacedContentHash === null) return undefined;
  return `release ${release} named other content before (${replacedContentHash}): bump \`release\` in seed/release.json so that kbRelease tells the two apart`;
}

/** What to tell whoever seeded questions under an instrument version that named other questions before, or undefined. */
export function reusedInstrumentWarning({ instrumentVersion, replacedInstrumentHash }: SeedOutcome): string | undefined {
  if (replacedInstrumentHash === null) return undefined;
  return `instrument ${instrumentVersion} named other questions before (${replacedInstrumentHash}): bump \`instrumentVersion\` in seed/questions.json so that results tell the two apart`;
}

/**
 * Brings the database to the content of the seed files. When the current release already has the
 * same content hash nothing is written (but, once, the hash of its questions, for a release seeded
 * before that was kept); otherwise everything is updated in one transaction. The
 * check is made inside that transaction, which takes the write lock first: of two processes starting
 * on one database, the second waits and then finds the release current, instead of seeding it again
 * under the first one's reads.
 */
export function seedDatabase(db: Db, content: Content, now: () => Date = () => new Date()): SeedOutcome {
  const outcome = { release: content.release, contentHash: content.contentHash, instrumentVersion: content.instrumentVersion };
  return db.transaction(
    (tx) => {
      const current = tx.select().from(t.releases).where(eq(t.releases.current, true)).get();
      // Seeded before the hash of its questions was kept: taken from its questions, still in the
      // database, so that a new release that changes them under its version is told too.
      if (current !== undefined && current.instrumentHash === null) {
        tx.update(t.releases)
          .set({ instrumentHash: currentInstrumentHash(tx) })
          .where(eq(t.releases.id, current.id))
          .run();
      }
      // Seeded before question banks were kept: the current questions are kept as their version's,
      // so that results scored with them can still be read against them after the next release.
      if (current !== undefined && !hasQuestionBank(tx, current.instrumentVersion)) {
        const questions = currentQuestions(tx);
        if (questions.length > 0) keepQuestionBank(tx, current.instrumentVersion, instrumentHashOf(questions), current.id, questions, now);
      }
      if (current?.id === content.release && current.contentHash === content.contentHash) {
        return { changed: false, ...outcome, replacedContentHash: null, replacedInstrumentHash: null };
      }
      // The id may be held by a release seeded before the current one (a release.json set back to
      // an earlier id): its row is overwritten below, so it named other content too.
      const held = tx.select().from(t.releases).where(eq(t.releases.id, content.release)).get();
      // Any release, current or earlier, that gave this instrument version other questions (SQL's <>
      // leaves out the releases that kept no hash).
      const otherQuestions = tx
        .select({ instrumentHash: t.releases.instrumentHash })
        .from(t.releases)
        .where(and(eq(t.releases.instrumentVersion, content.instrumentVersion), ne(t.releases.instrumentHash, content.instrumentHash)))
        .get();
      write(tx, content, now);
      const replaced = held !== undefined && held.contentHash !== content.contentHash ? held.contentHash : null;
      return { changed: true, ...outcome, replacedContentHash: replaced, replacedInstrumentHash: otherQuestions?.instrumentHash ?? null };
    },
    { behavior: 'immediate' },
  );
}

function write(tx: Tx, content: Content, now: () => Date): void {
  // Derived rows are rebuilt; rows with public slugs are upserted so their ids stay stable.
  tx.delete(t.citations).run();
  tx.delete(t.variants).run();
  tx.delete(t.expectations).run();
  tx.delete(t.questions).run();

  for (const source of content.sources) {
    tx.insert(t.sources).values(source).onConflictDoUpdate({ target: t.sources.id, set: source }).run();
  }
  tx.delete(t.sources)
    .where(
      notInArray(
        t.sources.id,
        content.sources.map((s) => s.id),
      ),
    )
    .run();

  const roleIds = upsertBySlug(
    tx,
    t.roles,
    content.roles.map((role, position) => ({ ...role, position })),
  );
  const competencyIds = upsertBySlug(
    tx,
    t.competencies,
    content.competencies.map((competency, position) => ({ ...competency, position })),
  );
  // Positions are unique: move the old ones out of the way before reordering.
  tx.update(t.companySizes)
    .set({ position: sql`-1 - ${t.companySizes.id}` })
    .run();
  const sizeIds = upsertBySlug(
    tx,
    t.companySizes,
    content.companySizes.map((size, position) => ({ ...size, position })),
  );

  const expectationIds = new Map<string, number>();
  for (const e of content.expectations) {
    const row = tx
      .insert(t.expectations)
      .values({
        roleId: lookup(roleIds, e.role),
        competencyId: lookup(competencyIds, e.competency),
        level: e.level,
        rationale: e.rationale,
        editorial: e.editorial,
      })
      .returning({ id: t.expectations.id })
      .get();
    expectationIds.set(`${e.role}/${e.competency}`, row.id);
    for (const c of e.citations) {
      tx.insert(t.citations).values({ sourceId: c.source, expectationId: row.id, claim: c.claim }).run();
    }
  }
  for (const v of content.variants) {
    const row = tx
      .insert(t.variants)
      .values({
        expectationId: lookup(expectationIds, `${v.role}/${v.competency}`),
        companySizeId: lookup(sizeIds, v.companySize),
        level: v.level,
        rationale: v.rationale,
        editorial: v.editorial,
      })
      .returning({ id: t.variants.id })
      .get();
    for (const c of v.citations) {
      tx.insert(t.citations).values({ sourceId: c.source, variantId: row.id, claim: c.claim }).run();
    }
  }
  content.questions.forEach((q, position) => {
    tx.insert(t.questions)
      .values({ id: q.id, prompt: q.prompt, competencyId: lookup(competencyIds, q.competency), keyed: q.keyed, position })
      .run();
  });

  const release = {
    id: content.release,
    contentHash: content.contentHash,
    instrumentVersion: content.instrumentVersion,
    instrumentHash: content.instrumentHash,
    seededAt: now().toISOString(),
    current: true,
  };
  tx.update(t.releases).set({ current: false }).where(eq(t.releases.current, true)).run();
  tx.insert(t.releases).values(release).onConflictDoUpdate({ target: t.releases.id, set: release }).run();
  keepQuestionBank(tx, content.instrumentVersion, content.instrumentHash, content.release, content.questions, now);
}

type BankQuestion = { id: string; prompt: string; competency: string; keyed: string };

const hasQuestionBank = (tx: Tx, version: string) =>
  tx
    .select({ version: t.questionBanks.instrumentVersion })
    .from(t.questionBanks)
    .where(eq(t.questionBanks.instrumentVersion, version))
    .get() !== undefined;

/** Keeps the questions of an instrument version as the questions read lists them, replacing what the version held. */
function keepQuestionBank(
  tx: Tx,
  version: string,
  hash: string,
  release: string,
  questions: readonly BankQuestion[],
  now: () => Date,
): void {
  const bank = {
    instrumentVersion: version,
    instrumentHash: hash,
    kbRelease: release,
    questions: JSON.stringify(
      questions.map(({ id, prompt, competency, keyed }, position) => ({ id, order: position + 1, prompt, competency, keyed })),
    ),
    seededAt: now().toISOString(),
  };
  tx.insert(t.questionBanks).values(bank).onConflictDoUpdate({ target: t.questionBanks.instrumentVersion, set: bank }).run();
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** The questions the database holds (the current release's) in order, with the fields the seed files give them. */
const currentQuestions = (tx: Tx): BankQuestion[] =>
  tx
    .select({ id: t.questions.id, prompt: t.questions.prompt, competency: t.competencies.slug, keyed: t.questions.keyed })
    .from(t.questions)
    .innerJoin(t.competencies, eq(t.questions.competencyId, t.competencies.id))
    .orderBy(asc(t.questions.position))
    .all();

/** The hash of the questions the database holds, as instrumentHashOf takes it from seed files. */
const currentInstrumentHash = (tx: Tx): string => instrumentHashOf(currentQuestions(tx));
type SlugTable = typeof t.roles | typeof t.competencies | typeof t.companySizes;

function upsertBySlug<T extends SlugTable>(tx: Tx, table: T, rows: (T['$inferInsert'] & { slug: string })[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (const row of rows) {
    const saved = tx
      .insert(table)
      .values(row as never)
      .onConflictDoUpdate({ target: table.slug, set: row as never })
      .returning({ id: table.id })
      .get();
    ids.set(row.slug, saved.id);
  }
  const slugs = rows.map((row) => row.slug);
  tx.delete(table).where(notInArray(table.slug, slugs)).run();
  return ids;
}

function lookup(ids: Map<string, number>, key: string): number {
  const id = ids.get(key);
  if (id === undefined) throw new Error(`seed: no id for "${key}"`);
  return id;
}
