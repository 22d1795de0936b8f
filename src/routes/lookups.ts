import type { KnowledgeBase } from '../domain/knowledge-base.js';
import { NotFoundError, type UnknownValue, unknownValue } from '../errors.js';

export type SlugKind = 'role' | 'competency' | 'company size' | 'source';
/** A slug a request names, and the field it came in; an absent one (undefined) is not looked up. */
export type SlugRef = readonly [kind: SlugKind, slug: string | undefined, field: string];

const known: Record<SlugKind, (kb: KnowledgeBase) => ReadonlyMap<string, unknown>> = {
  role: (kb) => kb.roleBySlug,
  competency: (kb) => kb.competencyBySlug,
  'company size': (kb) => kb.companySizeBySlug,
  source: (kb) => kb.sourceById,
};

/** Looks every slug up, and answers one 404 that names each unknown one by its field. */
export function requireKnown(kb: KnowledgeBase, refs: readonly SlugRef[]): void {
  const unknown: UnknownValue[] = [];
  for (const [what, value, field] of refs) {
    if (value !== undefined && !known[what](kb).has(value)) unknown.push(unknownValue(known[what](kb), what, value, field));
  }
  const [first, ...rest] = unknown;
  if (first !== undefined) throw new NotFoundError([first, ...rest]);
}

/** The slugs of a list, each named by its index in the field (`querystring.roles[1]`). */
export const listed = (what: SlugKind, slugs: readonly string[], field: string): SlugRef[] =>
  slugs.map((slug, i) => [what, slug, `${field}[${i}]`] as const);

/** The entry a slug names in one of the knowledge base's indexes, or the 404 that names it by its field. */
export function lookUp<T>(index: ReadonlyMap<string, T>, what: SlugKind, slug: string, field: string): T {
  const found = index.get(slug);
  if (found === undefined) throw new NotFoundError([unknownValue(index, what, slug, field)]);
  return found;
}
