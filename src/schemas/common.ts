import { z } from 'zod';
import './messages.js';
import { LEVEL_NAMES, MAX_LEVEL, SLUG } from '../domain/knowledge-base.js';

/** What a value given twice (a query parameter, a header, a member of one JSON object) is told. */
export const GIVEN_MORE_THAN_ONCE = 'is given more than once: give it once';

/** What a value that is not a slug is told (errors.ts adds the slug it names once lowercased, if any). */
export const NOT_A_SLUG = 'must be a lowercase slug: letters, digits and single hyphens';

/** An empty value gets one message, not that one and the pattern's too. */
export const Slug = z.string().min(1, { abort: true, error: 'must not be empty' }).max(64).regex(SLUG, NOT_A_SLUG);

/** SHA-256 over a release's validated seed content: tells two contents apart under one release id. */
export const ContentHash = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/)
  .describe('SHA-256 over the validated seed content of the knowledge-base release, as `/v1/meta` gives it');

export const Level = z
  .int()
  .min(0)
  .max(MAX_LEVEL)
  .describe(LEVEL_NAMES.map((name, level) => `${level} ${name}`).join(', '));

/** The level scale, each level with its name and meaning. */
export const LevelScale = z
  .array(z.object({ level: Level, name: z.enum(LEVEL_NAMES), meaning: z.string() }))
  .meta({ id: 'LevelScale', description: 'The levels expectations are given on, lowest first' });

/**
 * A whole number from a query string, written in decimal digits only: a blank value, a plus sign, hex
 * or an exponent (which Number() would read as 0, 16 or 10) is refused rather than read as another
 * number. A minus sign before digits writes a number below every range here (`-0` too, which no
 * client means as 0), so it is told the range.
 */
export const queryInt = (min: number, max: number, example: number) =>
  z.preprocess(
    (value) => (typeof value !== 'string' ? value : /^\d+$/.test(value) ? wholeNumber(value, max) : /^-\d+$/.test(value) ? min - 1 : value),
    z
      .int({ error: 'must be a whole number in decimal digits' })
      .min(min, { error: `must be from ${min} to ${max}` })
      .max(max, { error: `must be from ${min} to ${max}` })
      // On the number itself: the document is written from it, not from the preprocessing around it.
      .meta({ examples: [example] }),
  );

/**
 * Digits read as the number they write, leading zeros and all. More than 15 significant digits are
 * past any bound here (and past what a double holds exactly), so they read as just over the maximum
 * and are told the range like any other number too large.
 */
function wholeNumber(digits: string, max: number): number {
  const significant = digits.replace(/^0+(?=\d)/, '');
  return significant.length > 15 ? max + 1 : Number(significant);
}

const MAX_LIMIT = 200;
const MAX_OFFSET = 1_000_000;

/**
 * prefault, not default: zod leaves a default out of the document's (input) schema of a value it
 * transforms, as queryInt does, where a prefault (the same value, read as if sent) is published.
 */
export const Pagination = {
  limit: queryInt(1, MAX_LIMIT, 50).prefault(50).describe(`Page size, 1 to ${MAX_LIMIT}`),
  offset: queryInt(0, MAX_OFFSET, 0).prefault(0).describe('Items to skip'),
};

export const PageQuery = z.strictObject(Pagination);

/** The query of a route that takes no parameters: any given is refused, as on every other route. */
export const NoQuery = z.strictObject({});

/** The list envelope of every collection: `{ items, total, limit, offset }`. */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), total: z.int().min(0), limit: z.int().min(1).max(MAX_LIMIT), offset: z.int().min(0).max(MAX_OFFSET) });

export function paginate<T>(all: readonly T[], limit: number, offset: number) {
  return { items: all.slice(offset, offset + limit), total: all.length, limit, offset };
}

export const NotModified = z.undefined().describe('Not modified: the ETag sent in If-None-Match is current');

/** The 204 of an erasure: no body. */
export const Erased = z.undefined().describe('Erased, by this request or an earlier one: no body');

/** The 304 of a read with no entity tag of its own, answered for `If-None-Match: *` alone. */
export const ExistsNotModified = z.undefined().describe('Not modified: If-None-Match is `*` and the resource exists');
