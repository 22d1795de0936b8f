import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { MAX_MEAN_LEVEL_GAP } from '../domain/scoring.js';
import { fieldPath } from '../errors.js';
import { seedFolder } from '../paths.js';
import {
  CompanySizesFile,
  CompetenciesFile,
  ExpectationsFile,
  QuestionsFile,
  ReleaseFile,
  RolesFile,
  SourcesFile,
  VariantsFile,
} from './schema.js';

const SEED_FILES = {
  release: 'release.json',
  sources: 'sources.json',
  roles: 'roles.json',
  companySizes: 'company-sizes.json',
  competencies: 'competencies.json',
  expectations: 'expectations.json',
  variants: 'variants.json',
  questions: 'questions.json',
} as const;

/** A seed file that cannot be used, with the file and the field at fault. */
export class ContentError extends Error {
  override name = 'ContentError';
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`seed/${file}: ${field ? `${field}: ` : ''}${problem}`);
  }
}

function readSeedFile<S extends z.ZodType>(folder: string, file: string, schema: S): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(folder, file), 'utf8'));
  } catch (error) {
    throw new ContentError(
      file,
      '',
      error instanceof SyntaxError ? `not valid JSON (${error.message})` : `cannot be read (${(error as Error).message})`,
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ContentError(file, fieldPath('', issue?.path ?? []), issue?.message ?? 'invalid');
  }
  return parsed.data;
}

function assertUnique(file: string, values: string[], field: (index: number) => string): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (seen.has(value)) throw new ContentError(file, field(index), `duplicate "${value}"`);
    seen.add(value);
  });
}

function assertKnown(file: string, field: string, value: string, known: Set<string>, what: string): void {
  if (!known.has(value)) throw new ContentError(file, field, `unknown ${what} "${value}"`);
}

/** Every seed file, read and validated on its own. */
function readContent(folder: string) {
  const { release } = readSeedFile(folder, SEED_FILES.release, ReleaseFile);
  const sources = readSeedFile(folder, SEED_FILES.sources, SourcesFile);
  const roles = readSeedFile(folder, SEED_FILES.roles, RolesFile);
  const companySizes = readSeedFile(folder, SEED_FILES.companySizes, CompanySizesFile);
  const competencies = readSeedFile(folder, SEED_FILES.competencies, CompetenciesFile);
  const expectations = readSeedFile(folder, SEED_FILES.expectations, ExpectationsFile);
  const variants = readSeedFile(folder, SEED_FILES.variants, VariantsFile);
  const { instrumentVersion, questions } = readSeedFile(folder, SEED_FILES.questions, QuestionsFile);

  return { release, sources, roles, companySizes, competencies, expectations, variants, instrumentVersion, questions };
}

type SeedContent = ReturnType<typeof readContent>;

/** Unique ids and slugs, known references, sensible headcounts, and a complete matrix of expectations. */
function checkReferences({ sources, roles, companySizes, competencies, expectations, variants, questions }: SeedContent): void {
  assertUnique(
    SEED_FILES.sources,
    sources.map((s) => s.id),
    (i) => `[${i}].id`,
  );
  assertUnique(
    SEED_FILES.roles,
    roles.map((r) => r.slug),
    (i) => `[${i}].slug`,
  );
  assertUnique(
    SEED_FILES.companySizes,
    companySizes.map((s) => s.slug),
    (i) => `[${i}].slug`,
  );
  assertUnique(
    SEED_FILES.competencies,
    competencies.map((c) => c.slug),
    (i) => `[${i}].slug`,
  );
  assertUnique(
    SEED_FILES.questions,
    questions.map((q) => q.id),
    (i) => `questions[${i}].id`,
  );

  const sourceIds = new Set(sources.map((s) => s.id));
  const roleSlugs = new Set(roles.map((r) => r.slug));
  const sizeSlugs = new Set(companySizes.map((s) => s.slug));
  const competencySlugs = new Set(competencies.map((c) => c.slug));

  companySizes.forEach((size, i) => {
    if (size.headcountMax !== null && size.headcountMax < size.headcountMin) {
      throw new ContentError(SEED_FILES.companySizes, `[${i}].headcountMax`, 'must not be below headcountMin');
    }
  });

  const pairs = new Set<string>();
  expectations.forEach((e, i) => {
    assertKnown(SEED_FILES.expectations, `[${i}].role`, e.role, roleSlugs, 'role');
    assertKnown(SEED_FILES.expectations, `[${i}].competency`, e.competency, competencySlugs, 'competency');
    e.citations.forEach((c, j) => {
      assertKnown(SEED_FILES.expectations, `[${i}].citations[${j}].source`, c.source, sourceIds, 'source');
    });
    const pair = `${e.role}/${e.competency}`;
    if (pairs.has(pair)) throw new ContentError(SEED_FILES.expectations, `[${i}]`, `duplicate expectation for ${pair}`);
    pairs.add(pair);
  });
  for (const role of roles) {
    for (const competency of competencies) {
      if (!pairs.has(`${role.slug}/${competency.slug}`)) {
        throw new ContentError(
          SEED_FILES.expectations,
          '',
          `missing expectation for ${role.slug}/${competency.slug}: the matrix must be complete`,
        );
      }
    }
  }

  const overrides = new Set<string>();
  variants.forEach((v, i) => {
    assertKnown(SEED_FILES.variants, `[${i}].role`, v.role, roleSlugs, 'role');
    assertKnown(SEED_FILES.variants, `[${i}].competency`, v.competency, competencySlugs, 'competency');
    assertKnown(SEED_FILES.variants, `[${i}].companySize`, v.companySize, sizeSlugs, 'company size');
    v.citations.forEach((c, j) => {
      assertKnown(SEED_FILES.variants, `[${i}].citations[${j}].source`, c.source, sourceIds, 'source');
    });
    const key = `${v.role}/${v.competency}@${v.companySize}`;
    if (overrides.has(key)) throw new ContentError(SEED_FILES.variants, `[${i}]`, `duplicate variant for ${key}`);
    overrides.add(key);
  });
}

/** Every question measures a known competency, and every competency has balanced items. */
function checkInstrument({ competencies, questions }: SeedContent): void {
  const competencySlugs = new Set(competencies.map((c) => c.slug));
  questions.forEach((q, i) => {
    assertKnown(SEED_FILES.questions, `questions[${i}].competency`, q.competency, competencySlugs, 'competency');
  });
  // Balanced keying: agreeing (or disagreeing) with everything then moves no competency's affinity.
  for (const competency of competencies) {
    const items = questions.filter((q) => q.competency === competency.slug);
    if (items.length === 0)
      throw new ContentError(SEED_FILES.questions, 'questions', `no question measures competency "${competency.slug}"`);
    const minus = items.filter((q) => q.keyed === 'minus').length;
    if (minus * 2 !== items.length) {
      throw new ContentError(
        SEED_FILES.questions,
        'questions',
        `competency "${competency.slug}" has ${items.length - minus} plus and ${minus} minus items: keying must be balanced`,
      );
    }
  }
}

/** The scoring's monotonicity guarantee holds only while no role expects far more of everything. */
function checkComparableProfiles({ roles, companySizes, competencies, expectations, variants }: SeedContent): void {
  const levelAt = (role: string, competency: string, size: string | null) =>
    variants.find((v) => v.role === role && v.competency === competency && v.companySize === size)?.level ??
    expectations.find((e) => e.role === role && e.competency === competency)?.level ??
    0;
  for (const size of [null, ...companySizes.map((s) => s.slug)]) {
    const means = roles.map((r) => competencies.reduce((sum, c) => sum + levelAt(r.slug, c.slug, size), 0) / competencies.length);
    const gap = Math.max(...means) - Math.min(...means);
    if (gap > MAX_MEAN_LEVEL_GAP) {
      throw new ContentError(
        SEED_FILES.expectations,
        '',
        `mean levels of the roles differ by ${gap.toFixed(2)} at ${size ?? 'the baseline'} (at most ${MAX_MEAN_LEVEL_GAP}): scoring needs comparable profiles`,
      );
    }
  }
}

const sha256 = (value: unknown) => `sha256:${createHash('sha256').update(JSON.stringify(value)).digest('hex')}`;

/**
 * The hash of an instrument's questions: what `instrumentVersion` names (ids, prompts, competencies
 * and keying, in order). Taken over those four fields alone, named here, so that the database's copy
 * of a release's questions gives the same hash as its seed files; a field that changes what a
 * question asks belongs here too.
 */
export const instrumentHashOf = (questions: readonly { id: string; prompt: string; competency: string; keyed: string }[]) =>
  sha256(questions.map((q) => [q.id, q.prompt, q.competency, q.keyed]));

/**
 * Reads, validates and cross-checks every seed file. `contentHash` covers the validated content;
 * `instrumentHash` its questions alone (instrumentHashOf): seeding tells when one instrument version
 * comes to name other questions.
 */
export function loadContent(folder: string = seedFolder) {
  const body = readContent(folder);
  checkReferences(body);
  checkInstrument(body);
  checkComparableProfiles(body);
  return { ...body, contentHash: sha256(body), instrumentHash: instrumentHashOf(body.questions) };
}

export type Content = ReturnType<typeof loadContent>;
