import type { FastifyReply, FastifyRequest } from 'fastify';

/** A query parameter's value as the route's schema gives it; an absent one is left out of links. */
type QueryValue = string | number | boolean | null | undefined;
type Page = { total: number; limit: number; offset: number };

/**
 * The Link header (RFC 8288) of one page of a list: `first` and `prev` unless the page starts the
 * list, `next` and `last` unless nothing follows it, or undefined when the page holds the whole
 * list. `next` and `last` keep the page's own steps (`offset=3` leads to 8, 13, …); `prev` is at
 * most a page before the end, so that a page past the end leads back to items. Every link keeps
 * the other parameters given, and is relative to the request's URL, as Location is.
 */
export function pageLinks(path: string, filters: Readonly<Record<string, QueryValue>>, { total, limit, offset }: Page): string | undefined {
  let query = '';
  for (const [name, value] of Object.entries(filters)) {
    if (value !== undefined && value !== null) query += `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}&`;
  }
  const link = (at: number, rel: string) => `<${path}?${query}limit=${limit}&offset=${at}>; rel="${rel}"`;
  const links: string[] = [];
  if (offset > 0) links.push(link(0, 'first'), link(Math.max(0, Math.min(offset - limit, total - limit)), 'prev'));
  if (offset + limit < total)
    links.push(link(offset + limit, 'next'), link(offset + Math.floor((total - 1 - offset) / limit) * limit, 'last'));
  return links.length === 0 ? undefined : links.join(', ');
}

/** Sets the Link header of a page of a list of `total` items, from the route's `limit`, `offset` and other query parameters. */
export function linkPages(request: FastifyRequest, reply: FastifyReply, total: number): void {
  const { limit, offset, ...filters } = request.query as { limit: number; offset: number } & Record<string, QueryValue>;
  const links = pageLinks(request.routeOptions.url as string, filters, { total, limit, offset });
  if (links !== undefined) reply.header('link', links);
}
