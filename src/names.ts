import { z } from 'zod';

/**
 * Edits (insertions, deletions, substitutions, swaps of two neighbours) that turn `a` into `b`; past `max`, only that it is
 * more than `max` (`max + 1` is returned as soon as no path of edits can stay within it).
 */
export function editDistance(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let least = i;
    for (let j = 1; j <= b.length; j++) {
      let cell = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      // Two neighbours swapped (`PROT`, `LOG_LEVLE`) count as one edit, as a typist makes them.
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cell = Math.min(cell, (beforePrevious[j - 2] as number) + 1);
      current[j] = cell;
      if (cell < least) least = cell;
    }
    // A row's least count never falls in the rows after it (a swap reaches back two rows, whose
    // least is at most one below the last row's).
    if (least > max) return max + 1;
    beforePrevious = previous;
    previous = current;
  }
  return Math.min(previous[b.length] as number, max + 1);
}

/** An English word without a plural ending: `batches` and `batch`, `categories` and `category` give one stem. */
const singular = (word: string): string =>
  word
    .replace(/ies$/, 'y')
    .replace(/(ch|sh|ss|x)es$/, '$1')
    .replace(/s$/, '');

/**
 * The known name an unknown one was most likely meant as (`categry`, `companysize`, `respondant`,
 * `batches`), or undefined. Case aside, names of up to 3 characters must match exactly, of up to 6
 * within one edit and longer ones within two, and the plural of a name or its singular counts as
 * one edit (`categories` for `category`); a tie between two names suggests neither.
 */
export function meantName(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  let tied = false;
  const typed = unknown.toLowerCase();
  for (const name of known) {
    const allowed = name.length <= 3 ? 0 : name.length <= 6 ? 1 : 2;
    const lower = name.toLowerCase();
    // Names further apart in length are further apart in edits: a made-up name thousands of
    // characters long costs a comparison of lengths, not a table of them, and a comparison stops
    // once it is past the edits allowed.
    const plural = allowed > 0 && typed !== lower && Math.abs(name.length - unknown.length) <= 3 && singular(typed) === singular(lower);
    if (!plural && Math.abs(name.length - unknown.length) > allowed) continue;
    const distance = plural ? 1 : editDistance(typed, lower, allowed);
    if (distance > allowed || distance > bestDistance) continue;
    tied = distance === bestDistance;
    best = name;
    bestDistance = distance;
  }
  return tied ? undefined : best;
}

/** The hint a message ends with when a value was likely meant as another (`; did you mean people?`), or nothing. */
export const didYouMean = (meant: string | undefined): string => (meant === undefined ? '' : `; did you mean ${meant}?`);

/**
 * Names an object schema does not take but a client may well send it, each with where what it means
 * is found instead (`companySize` on the comparison that covers every size): such a name is told
 * that, after "unknown parameter;", as a misplaced submission field is, where it would otherwise be
 * told no more.
 */
export const elsewhere = z.registry<Record<string, string>>();

/**
 * "unknown field" or "unknown parameter", with the name it was likely meant as, when there is one: a
 * known name with `[]` after it (`roles[]`, how some HTTP libraries send a list) is taken as that
 * name, and a name the schema's `elsewhere` entry lists is told where to go.
 */
export function unknownNameMessage(
  what: 'field' | 'parameter',
  unknown: string,
  known: readonly string[],
  hints: Readonly<Record<string, string>> = {},
): string {
  const hint = Object.hasOwn(hints, unknown) ? hints[unknown] : undefined;
  if (hint !== undefined) return `unknown ${what}; ${hint}`;
  const bracketed = unknown.endsWith('[]') ? known.find((name) => `${name}[]` === unknown) : undefined;
  return `unknown ${what}${didYouMean(bracketed ?? meantName(unknown, known))}`;
}

/**
 * The object schema at `path` below `schema` (list indexes step into a list's items; optional,
 * nullable and defaulted values into what they wrap), or undefined where the path leads elsewhere.
 */
export function objectAt(schema: unknown, path: readonly PropertyKey[]): z.ZodObject | undefined {
  let at = unwrapped(schema);
  for (const step of path) {
    if (at === undefined) return undefined;
    const def = (at as z.ZodType)._zod.def as { type: string; shape?: Record<string, unknown>; element?: unknown };
    if (def.type === 'array' && typeof step === 'number') at = unwrapped(def.element);
    else if (def.type === 'object' && typeof step === 'string' && def.shape !== undefined) at = unwrapped(def.shape[step]);
    else return undefined;
  }
  const def = (at as z.ZodType | undefined)?._zod.def as { type: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === 'object' && def.shape !== undefined ? (at as z.ZodObject) : undefined;
}

/** The field names the object schema at `path` below `schema` knows (see objectAt), or none. */
export const knownNames = (schema: unknown, path: readonly PropertyKey[]): string[] => Object.keys(objectAt(schema, path)?.shape ?? {});

/** A schema without the optional, nullable, default and prefault wrappers around it. */
function unwrapped(schema: unknown): unknown {
  let at = schema;
  for (;;) {
    const def = (at as Partial<z.ZodType> | undefined)?._zod?.def as { type: string; innerType?: unknown } | undefined;
    if (def === undefined) return undefined;
    if (['optional', 'nullable', 'default', 'prefault'].includes(def.type) && def.innerType !== undefined) at = def.innerType;
    else return at;
  }
}
