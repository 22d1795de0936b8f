import { sql } from 'drizzle-orm';
import { blob, check, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

import { CATEGORIES, KEYINGS } from '../domain/knowledge-base.js';

/** One row per knowledge-base release that has been seeded; exactly one is marked current. */
export const releases = sqliteTable(
  'releases',
  {
    id: text('id').primaryKey(),
    contentHash: text('content_hash').notNull(),
    instrumentVersion: text('instrument_version').notNull(),
    /** The hash of the release's questions (see Content), null for a release seeded before it was kept. */
    instrumentHash: text('instrument_hash'),
    seededAt: text('seeded_at').notNull(),
    current: integer('current', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [uniqueIndex('releases_one_current').on(t.current).where(sql`${t.current} = 1`)],
);

export const sources = sqliteTable('sources', {
  id: text('id').primaryKey(),
  title: text('title').notNull(),
  kind: text('kind').notNull(),
  summary: text('summary').notNull(),
});

export const roles = sqliteTable(
  'roles',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    summary: text('summary').notNull(),
    typicalDay: text('typical_day').notNull(),
    position: integer('position').notNull(),
  },
  (t) => [uniqueIndex('roles_slug_unique').on(t.slug)],
);

export const competencies = sqliteTable(
  'competencies',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    category: text('category', { enum: CATEGORIES }).notNull(),
    description: text('description').notNull(),
    position: integer('position').notNull(),
  },
  (t) => [
    uniqueIndex('competencies_slug_unique').on(t.slug),
    index('competencies_category_idx').on(t.category),
    check('competencies_category_check', sql`${t.category} in (${sql.raw(CATEGORIES.map((c) => `'${c}'`).join(', '))})`),
  ],
);

export const companySizes = sqliteTable(
  'company_sizes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    headcountMin: integer('headcount_min').notNull(),
    headcountMax: integer('headcount_max'),
    position: integer('position').notNull(),
    description: text('description').notNull(),
  },
  (t) => [uniqueIndex('company_sizes_slug_unique').on(t.slug), uniqueIndex('company_sizes_position_unique').on(t.position)],
);

/** The baseline level a role expects of a competency: one row for every (role, competency) pair. */
export const expectations = sqliteTable(
  'expectations',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    roleId: integer('role_id')
      .notNull()
      .references(() => roles.id, { onDelete: 'cascade' }),
    competencyId: integer('competency_id')
      .notNull()
      .references(() => competencies.id, { onDelete: 'cascade' }),
    level: integer('level').notNull(),
    rationale: text('rationale').notNull(),
    editorial: integer('editorial', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [
    uniqueIndex('expectations_role_competency_unique').on(t.roleId, t.competencyId),
    index('expectations_competency_idx').on(t.competencyId),
    check('expectations_level_check', sql`${t.level} between 0 and 4`),
  ],
);

/** Overrides one expectation's level at one company size. */
export const variants = sqliteTable(
  'variants',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    expectationId: integer('expectation_id')
      .notNull()
      .references(() => expectations.id, { onDelete: 'cascade' }),
    companySizeId: integer('company_size_id')
      .notNull()
      .references(() => companySizes.id, { onDelete: 'cascade' }),
    level: integer('level').notNull(),
    rationale: text('rationale').notNull(),
    editorial: integer('editorial', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [
    uniqueIndex('variants_expectation_size_unique').on(t.expectationId, t.companySizeId),
    index('variants_company_size_idx').on(t.companySizeId),
    check('variants_level_check', sql`${t.level} between 0 and 4`),
  ],
);

/** Links an expectation or a variant (exactly one) to a source, with a paraphrased claim. */
export const citations = sqliteTable(
  'citations',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sourceId: text('source_id')
      .notNull()
      .references(() => sources.id),
    expectationId: integer('expectation_id').references(() => expectations.id, { onDelete: 'cascade' }),
    variantId: integer('variant_id').references(() => variants.id, { onDelete: 'cascade' }),
    claim: text('claim').notNull(),
  },
  (t) => [
    index('citations_expectation_idx').on(t.expectationId),
    index('citations_variant_idx').on(t.variantId),
    index('citations_source_idx').on(t.sourceId),
    check('citations_one_target_check', sql`(${t.expectationId} is null) <> (${t.variantId} is null)`),
  ],
);

export const questions = sqliteTable(
  'questions',
  {
    id: text('id').primaryKey(),
    prompt: text('prompt').notNull(),
    competencyId: integer('competency_id')
      .notNull()
      .references(() => competencies.id),
    keyed: text('keyed', { enum: KEYINGS }).notNull(),
    position: integer('position').notNull(),
  },
  (t) => [
    index('questions_competency_idx').on(t.competencyId),
    uniqueIndex('questions_position_unique').on(t.position),
    check('questions_keyed_check', sql`${t.keyed} in ('plus', 'minus')`),
  ],
);

/**
 * A scored submission stored before ids encoded their row (newer ones are in assessment_documents).
 * `document` is the assessment exactly as it was answered (the JSON text of the 201), kept with the
 * versions used, so a later release never changes what an assessment says and a read sends it as
 * stored; the company size is kept as a slug (not a foreign key) for the same reason. The column is
 * declared a blob, which SQLite stores as given: rows stored while documents were kept compressed
 * hold the gzip of the JSON as a blob, newer rows the JSON as text (so it is read through the
 * repository's own statements; drizzle would type it a Buffer). Rows stored before `document`
 * existed keep their answers and result as JSON text instead.
 */
export const assessments = sqliteTable(
  'assessments',
  {
    id: text('id').primaryKey(),
    createdAt: text('created_at').notNull(),
    companySize: text('company_size'),
    respondent: text('respondent'),
    document: blob('document', { mode: 'buffer' }),
    answers: text('answers'),
    result: text('result'),
    instrumentVersion: text('instrument_version').notNull(),
    scoringVersion: text('scoring_version').notNull(),
    kbRelease: text('kb_release').notNull(),
    idempotencyKey: text('idempotency_key'),
  },
  (t) => [
    index('assessments_created_at_idx').on(t.createdAt),
    check('assessments_stored_check', sql`${t.document} is not null or (${t.answers} is not null and ${t.result} is not null)`),
  ],
);

/**
 * Assessments stored since ids encode their row (see AssessmentIds): `row_id` is the rowid, so a
 * read by id is one lookup by row number, checked against the row's random `tag`, and an insert
 * appends to the table without an index of ids. Nothing reads assessments by date, so there is no
 * index on `created_at` either (each process numbers its rows in the order it stores them).
 * `document` is the JSON text a read sends. Rows stored earlier, with random UUIDs, stay in
 * `assessments`.
 */
export const assessmentDocuments = sqliteTable('assessment_documents', {
  row: integer('row_id').primaryKey(),
  tag: integer('tag').notNull(),
  createdAt: text('created_at').notNull(),
  companySize: text('company_size'),
  respondent: text('respondent'),
  document: text('document').notNull(),
  instrumentVersion: text('instrument_version').notNull(),
  scoringVersion: text('scoring_version').notNull(),
  kbRelease: text('kb_release').notNull(),
  idempotencyKey: text('idempotency_key'),
});

/**
 * Assessments erased by `DELETE /v1/assessments/{id}`: only the id and when, so that a later read
 * is told the assessment was erased (410) rather than never stored (404), and a repeated DELETE is
 * answered as the first was. Nothing else of the assessment is kept.
 */
export const erasedAssessments = sqliteTable('erased_assessments', {
  id: text('id').primaryKey(),
  erasedAt: text('erased_at').notNull(),
});

/**
 * The key assessment ids are encrypted with, made at random when the database is first opened, and
 * the next row number no process has reserved yet: each process reserves row numbers in blocks, so
 * that it can give a submission its id before the write that stores it.
 */
export const assessmentIdKeys = sqliteTable(
  'assessment_id_keys',
  {
    id: integer('id').primaryKey(),
    key: blob('key', { mode: 'buffer' }).notNull(),
    nextRow: integer('next_row').notNull(),
  },
  (t) => [check('assessment_id_keys_one_check', sql`${t.id} = 1`)],
);

/**
 * A replayable response for an Idempotency-Key, kept at least 48 hours. A response that carries
 * stored assessments keeps their ids in `assessment_ids` (comma-separated, in order) and, in
 * `response`, a JSON array of the texts around their documents, one more than the ids: the replay
 * puts each document back between them, so an assessment is not stored twice. Without ids (a batch
 * whose items were all refused, and every row stored before the column existed), `response` is the
 * body itself.
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    key: text('key').notNull(),
    scope: text('scope').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code').notNull(),
    response: text('response').notNull(),
    assessmentIds: text('assessment_ids'),
    createdAt: text('created_at').notNull(),
  },
  (t) => [uniqueIndex('idempotency_keys_scope_key_unique').on(t.scope, t.key), index('idempotency_keys_created_at_idx').on(t.createdAt)],
);

/**
 * The questions of each instrument version seeded, as `GET /v1/assessment/questions` served them (the
 * JSON text of the list, in order), with the release that seeded them: a stored result names its
 * `versions.instrument`, and its answers' question ids are read against that version's questions
 * once later releases change them. A version given other questions without a new version (seeding
 * warns) keeps the last.
 */
export const questionBanks = sqliteTable('question_banks', {
  instrumentVersion: text('instrument_version').primaryKey(),
  instrumentHash: text('instrument_hash').notNull(),
  kbRelease: text('kb_release').notNull(),
  questions: text('questions').notNull(),
  seededAt: text('seeded_at').notNull(),
});
