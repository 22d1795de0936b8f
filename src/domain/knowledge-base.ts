export const CATEGORIES = ['technical', 'people', 'delivery', 'communication', 'strategy'] as const;
/** minus: agreeing with the item means less affinity for its competency (reverse-keyed). */
export const KEYINGS = ['plus', 'minus'] as const;

export type Category = (typeof CATEGORIES)[number];

/** The top of the level scale: 0 none … 4 defining. */
export const MAX_LEVEL = 4;

/** The form of every slug: lowercase letters and digits in words joined by single hyphens. */
export const SLUG_BODY = '[a-z0-9]+(?:-[a-z0-9]+)*';
export const SLUG = new RegExp(`^${SLUG_BODY}$`);
/** The name of each level, by its number. */
export const LEVEL_NAMES = ['none', 'occasional', 'regular', 'core', 'defining'] as const;
/** What each level means, by its number. */
const LEVEL_MEANINGS = [
  'Not part of the role',
  'Touched now and then, or only understood',
  'A recurring part of the work',
  'A main responsibility, and the role is judged on it',
  'What the role exists for',
] as const satisfies { length: (typeof LEVEL_NAMES)['length'] };
/** The scale as `/v1/meta` and the export give it: each level's number, name and meaning (a new copy each call). */
export const levelScale = () => LEVEL_NAMES.map((name, level) => ({ level, name, meaning: LEVEL_MEANINGS[level] as string }));
export type Keyed = (typeof KEYINGS)[number];

export type Citation = { source: string; claim: string };
export type Release = { id: string; contentHash: string; instrumentVersion: string; seededAt: string };
export type Source = { id: string; title: string; kind: string; summary: string };
export type Role = { slug: string; name: string; summary: string; typicalDay: string };
export type Competency = { slug: string; name: string; category: Category; description: string };
export type CompanySize = {
  slug: string;
  name: string;
  headcountMin: number;
  headcountMax: number | null;
  order: number;
  description: string;
};
export type Variant = {
  companySize: string;
  level: number;
  rationale: string;
  editorial: boolean;
  citations: Citation[];
};
export type Expectation = {
  role: string;
  competency: string;
  level: number;
  rationale: string;
  editorial: boolean;
  citations: Citation[];
  variants: Variant[];
};
export type Question = { id: string; prompt: string; competency: string; keyed: Keyed; order: number };

/** The questions of one instrument version, as the release that seeded them last gave them: kept for results scored with them. */
export type QuestionBank = { version: string; kbRelease: string; questions: Question[] };

/** Everything the knowledge base holds for one release, as plain data. */
export type KnowledgeBaseData = {
  release: Release;
  sources: Source[];
  roles: Role[];
  competencies: Competency[];
  companySizes: CompanySize[];
  expectations: Expectation[];
  questions: Question[];
};

/** The level a role expects of a competency at a company size (`null` = the baseline). */
export type ResolvedExpectation = {
  level: number;
  baselineLevel: number;
  variant: Variant | null;
  rationale: string;
  editorial: boolean;
  citations: Citation[];
};

/** An immutable, indexed view of one release of the knowledge base. */
export class KnowledgeBase {
  readonly roleBySlug: ReadonlyMap<string, Role>;
  readonly competencyBySlug: ReadonlyMap<string, Competency>;
  readonly companySizeBySlug: ReadonlyMap<string, CompanySize>;
  readonly sourceById: ReadonlyMap<string, Source>;
  readonly questionById: ReadonlyMap<string, Question>;
  private readonly expectationByPair: ReadonlyMap<string, Expectation>;
  /** Expected levels by company size ('' = baseline), role and competency, built once. */
  private readonly levelTables = new Map<string, Record<string, Record<string, number>>>();

  constructor(readonly data: KnowledgeBaseData) {
    this.roleBySlug = new Map(data.roles.map((r) => [r.slug, r]));
    this.competencyBySlug = new Map(data.competencies.map((c) => [c.slug, c]));
    this.companySizeBySlug = new Map(data.companySizes.map((s) => [s.slug, s]));
    this.sourceById = new Map(data.sources.map((s) => [s.id, s]));
    this.questionById = new Map(data.questions.map((q) => [q.id, q]));
    this.expectationByPair = new Map(data.expectations.map((e) => [`${e.role}/${e.competency}`, e]));
  }

  get release(): Release {
    return this.data.release;
  }

  expectation(role: string, competency: string): Expectation {
    const found = this.expectationByPair.get(`${role}/${competency}`);
    // The seed loader rejects an incomplete matrix, so a miss here is a programming error.
    if (!found) throw new Error(`No expectation for ${role}/${competency}`);
    return found;
  }

  resolve(role: string, competency: string, companySize: string | null): ResolvedExpectation {
    const e = this.expectation(role, competency);
    const variant = companySize === null ? null : (e.variants.find((v) => v.companySize === companySize) ?? null);
    const source = variant ?? e;
    return {
      level: source.level,
      baselineLevel: e.level,
      variant,
      rationale: source.rationale,
      editorial: source.editorial,
      citations: source.citations,
    };
  }

  /** Every role's level of every competency at a company size, built once per size. */
  levelTable(companySize: string | null): Readonly<Record<string, Readonly<Record<string, number>>>> {
    const key = companySize ?? '';
    let table = this.levelTables.get(key);
    if (!table) {
      table = {};
      for (const role of this.data.roles) {
        const row: Record<string, number> = {};
        for (const c of this.data.competencies) row[c.slug] = this.resolve(role.slug, c.slug, companySize).level;
        table[role.slug] = row;
      }
      this.levelTables.set(key, table);
    }
    return table;
  }

  levelAt(role: string, competency: string, companySize: string | null): number {
    const level = this.levelTable(companySize)[role]?.[competency];
    if (level === undefined) throw new Error(`No level for ${role}/${competency}`);
    return level;
  }
}
