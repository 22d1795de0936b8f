// If-None-Match as RFC 9110 (13.1.2) reads it for a GET or HEAD: a list of entity tags, compared
// weakly, or `*`, which any current representation of the target matches.

/** Whether the field is `*`: current whenever the target exists, whatever its entity tag. */
export const matchesAny = (ifNoneMatch: string | undefined): boolean => ifNoneMatch !== undefined && ifNoneMatch.trim() === '*';

/** The opaque part of each entity tag in the list, weak or strong alike. */
const listedTags = (ifNoneMatch: string) => ifNoneMatch.split(',').map((tag) => tag.trim().replace(/^W\//, ''));

/** Whether a representation tagged `etag` is current for the field: the request is then answered 304. */
export const isCurrent = (ifNoneMatch: string | undefined, etag: string): boolean =>
  ifNoneMatch !== undefined && (matchesAny(ifNoneMatch) || listedTags(ifNoneMatch).includes(etag));
