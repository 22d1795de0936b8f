import { ANSWER_SCALE } from './assessment.js';
import { compare } from './comparison.js';
import { type Category, type Competency, type KnowledgeBase, levelScale, type Question, type QuestionBank } from './knowledge-base.js';
import { MIN_ANSWERS } from './scoring.js';

/** Views of the knowledge base that the read API serves, as plain data. */

/** The instrument: the answer scale and the questions in order, as a client renders them. */
export const instrument = (kb: KnowledgeBase) => instrumentOf(kb.release.instrumentVersion, true, kb.release.id, kb.data.questions);

/** An earlier instrument version, for reading the answers of results scored with it: it takes no submissions. */
export const earlierInstrument = (bank: QuestionBank) => instrumentOf(bank.version, false, bank.kbRelease, bank.questions);

function instrumentOf(version: string, current: boolean, kbRelease: string, questions: readonly Question[]) {
  return {
    version,
    current,
    kbRelease,
    scale: ANSWER_SCALE,
    questions: questions.map(({ id, order, prompt, competency, keyed }) => ({ id, order, prompt, competency, keyed })),
    minAnswers: MIN_ANSWERS,
  };
}

/** The versions in play and how much the release holds. */
export function metaOf(kb: KnowledgeBase, apiVersion: string, scoringVersion: string) {
  const { data } = kb;
  const entries = [...data.expectations, ...data.expectations.flatMap((e) => e.variants)];
  return {
    apiVersion,
    kbRelease: data.release.id,
    contentHash: data.release.contentHash,
    instrumentVersion: data.release.instrumentVersion,
    scoringVersion,
    levelScale: levelScale(),
    counts: {
      roles: data.roles.length,
      competencies: data.competencies.length,
      companySizes: data.companySizes.length,
      expectations: data.expectations.length,
      variants: entries.length - data.expectations.length,
      citations: entries.reduce((sum, entry) => sum + entry.citations.length, 0),
      editorialEntries: entries.filter((entry) => entry.editorial).length,
      questions: data.questions.length,
      sources: data.sources.length,
    },
  };
}

export function roleDetail(kb: KnowledgeBase, roleSlug: string, companySize: string | null) {
  const role = kb.roleBySlug.get(roleSlug);
  if (!role) throw new Error(`unknown role ${roleSlug}`);
  return {
    ...role,
    companySize,
    kbRelease: kb.release.id,
    expectations: kb.data.competencies.map((c) => {
      const resolved = kb.resolve(role.slug, c.slug, companySize);
      return {
        competency: { slug: c.slug, name: c.name, category: c.category },
        level: resolved.level,
        baselineLevel: resolved.baselineLevel,
        variant: resolved.variant,
        rationale: resolved.rationale,
        editorial: resolved.editorial,
        citations: resolved.citations,
      };
    }),
  };
}

export type CompetencyFilter = {
  category?: Category;
  q?: string;
  role?: string;
  minLevel?: number;
  companySize?: string;
};

/**
 * Text as the search compares it: accents dropped, lower case, typographic apostrophes as ', and
 * every run of anything but letters, digits and apostrophes inside a word (spaces, hyphens, dashes,
 * slashes, punctuation, quotation marks) as one space: "Décision-making" and "decision making" read
 * alike, and so do `"code review"`, `hiring?` and `(hiring)` and their words.
 */
const searchText = (text: string) =>
  text
    .replace(/[\u2018\u2019\u02bc\u00b4`]/g, "'")
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLocaleLowerCase('en')
    .replace(/(?:[^\p{L}\p{N}']|(?<![\p{L}\p{N}])'|'(?![\p{L}\p{N}]))+/gu, ' ')
    .trim();

/**
 * The words of a text search, each to be found in a competency's name or description, in any order:
 * two queries with the same words (in any order, case or spelling of accents) have the same result.
 */
export const searchWords = (q: string | undefined) =>
  q === undefined ? undefined : [...new Set(searchText(q).split(' ').filter(Boolean))].sort();

/** Each release's competencies as the search reads them: name and description, one line each. */
const searchable = new WeakMap<KnowledgeBase, ReadonlyMap<string, string>>();
function searchableOf(kb: KnowledgeBase): ReadonlyMap<string, string> {
  let texts = searchable.get(kb);
  if (texts === undefined) {
    texts = new Map(kb.data.competencies.map((c) => [c.slug, `${searchText(c.name)}\n${searchText(c.description)}`]));
    searchable.set(kb, texts);
  }
  return texts;
}

export function findCompetencies(kb: KnowledgeBase, filter: CompetencyFilter): (Competency & { level?: number })[] {
  const words = searchWords(filter.q);
  const texts = searchableOf(kb);
  const out: (Competency & { level?: number })[] = [];
  for (const c of kb.data.competencies) {
    if (filter.category && c.category !== filter.category) continue;
    if (words !== undefined && !words.every((word) => (texts.get(c.slug) as string).includes(word))) continue;
    if (filter.role) {
      const level = kb.resolve(filter.role, c.slug, filter.companySize ?? null).level;
      if (level < (filter.minLevel ?? 1)) continue;
      out.push({ ...c, level });
    } else {
      out.push(c);
    }
  }
  return out;
}

export function competencyDetail(kb: KnowledgeBase, slug: string) {
  const competency = kb.competencyBySlug.get(slug);
  if (!competency) throw new Error(`unknown competency ${slug}`);
  return {
    ...competency,
    kbRelease: kb.release.id,
    roles: kb.data.roles.map((role) => {
      const e = kb.expectation(role.slug, slug);
      return {
        role: role.slug,
        name: role.name,
        baselineLevel: e.level,
        rationale: e.rationale,
        editorial: e.editorial,
        citations: e.citations,
        byCompanySize: kb.data.companySizes.map((size) => {
          const resolved = kb.resolve(role.slug, slug, size.slug);
          return { companySize: size.slug, level: resolved.level, overridden: resolved.variant !== null };
        }),
      };
    }),
  };
}

/** A comparison of roles at one company size (null = baseline), with names and rationales. */
function comparisonStage(kb: KnowledgeBase, roles: string[], companySize: string | null, category: Category | null) {
  const competencies = kb.data.competencies.filter((c) => category === null || c.category === category);
  const result = compare({
    roles,
    competencies: competencies.map((c) => c.slug),
    level: (role, competency) => kb.resolve(role, competency, companySize).level,
  });
  return {
    companySize,
    similarity: result.similarity,
    pairwise: result.pairwise,
    competencies: result.competencies.map((row, i) => {
      const c = competencies[i] as Competency;
      return {
        competency: { slug: c.slug, name: c.name, category: c.category },
        levels: row.levels.map(({ role }) => {
          const resolved = kb.resolve(role, c.slug, companySize);
          return {
            role,
            level: resolved.level,
            baselineLevel: resolved.baselineLevel,
            rationale: resolved.rationale,
            editorial: resolved.editorial,
          };
        }),
        spread: row.spread,
        classification: row.classification,
        leader: row.leader,
      };
    }),
    summary: result.summary,
  };
}

export function comparison(kb: KnowledgeBase, roles: string[], companySize: string | null, category: Category | null) {
  return {
    roles: roles.map((slug) => ({ slug, name: kb.roleBySlug.get(slug)?.name ?? slug })),
    category,
    kbRelease: kb.release.id,
    kbContentHash: kb.release.contentHash,
    ...comparisonStage(kb, roles, companySize, category),
  };
}

/** The comparison at the baseline and at every company size, smallest first. */
export function comparisonAcrossSizes(kb: KnowledgeBase, roles: string[], category: Category | null) {
  const stages = [null, ...kb.data.companySizes.map((s) => s.slug)].map((size) => comparisonStage(kb, roles, size, category));
  return {
    roles: roles.map((slug) => ({ slug, name: kb.roleBySlug.get(slug)?.name ?? slug })),
    category,
    kbRelease: kb.release.id,
    kbContentHash: kb.release.contentHash,
    trend: stages.map((s) => ({ companySize: s.companySize, similarity: s.similarity })),
    comparisons: stages,
  };
}
