// If-Match and If-None-Match as RFC 9110 (13.1.1, 13.1.2) reads them for a GET or HEAD: a list of
// entity tags, or `*`, which any current representation of the target matches. If-Match compares
// the tags strongly (a weak tag never matches), If-None-Match weakly.

/** Whether the field is `*`: current whenever the target exists, whatever its entity tag. */
export const matchesAny = (field: string | undefined): boolean => field !== undefined && field.trim() === '*';

/**
 * Whether If-Match fails for a target whose current representation is tagged `etag` (undefined for
 * one with no entity tag): the request is then answered 412 and not performed. A request without
 * the field never fails.
 */
export const failsIfMatch = (ifMatch: string | undefined, etag: string | undefined): boolean =>
  ifMatch !== undefined && !matchesAny(ifMatch) && (etag === undefined || !ifMatch.split(',').some((tag) => tag.trim() === etag));

/** The opaque part of each entity tag in the list, weak or strong alike. */
const listedTags = (ifNoneMatch: string) => ifNoneMatch.split(',').map((tag) => tag.trim().replace(/^W\//, ''));

/** Whether a representation tagged `etag` is current for the field: the request is then answered 304. */
export const isCurrent = (ifNoneMatch: string | undefined, etag: string): boolean =>
  ifNoneMatch !== undefined && (matchesAny(ifNoneMatch) || listedTags(ifNoneMatch).includes(etag));
