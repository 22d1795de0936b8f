import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Answers a knowledge-base GET from a per-release cache of serialized bodies, compressed once
     * for clients that accept brotli or gzip. The ETag is derived from the release, the cache key
     * and the content coding, so If-None-Match is answered without serializing anything.
     */
    sendCached<S extends z.ZodType>(
      request: FastifyRequest,
      reply: FastifyReply,
      key: string,
      schema: S,
      build: () => z.input<S>,
    ): FastifyReply;
  }
}

export type ContentCoding = 'br' | 'gzip' | 'identity';

/** One cached body in every coding, as bytes ready to send, and the tag its ETags derive from. */
type Entry = { tag: string; bodies: Record<ContentCoding, Buffer> };

export type ResponseCacheOptions = { maxEntries?: number; cacheControl?: string };

/**
 * The content coding to send for an Accept-Encoding header (RFC 9110, 12.5.3): the acceptable
 * coding with the highest q-value, brotli before gzip on a tie, identity when neither is acceptable.
 */
export function negotiateCoding(acceptEncoding: string | undefined): ContentCoding {
  if (!acceptEncoding) return 'identity';
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.split(';');
    const coding = name.trim().toLowerCase();
    if (!coding) continue;
    // A malformed q-value makes the coding unacceptable rather than preferred.
    const weight = params.map((p) => p.trim()).find((p) => /^q\s*=/i.test(p));
    const value = weight === undefined ? 1 : /^q\s*=\s*([01](?:\.\d{0,3})?)$/i.test(weight) ? Number(weight.split('=')[1]) : 0;
    q.set(coding === 'x-gzip' ? 'gzip' : coding, Math.min(value, 1));
  }
  const weightOf = (coding: string) => q.get(coding) ?? q.get('*') ?? 0;
  const br = weightOf('br');
  const gzip = weightOf('gzip');
  if (br > 0 && br >= gzip) return 'br';
  if (gzip > 0) return 'gzip';
  return 'identity';
}

function encodings(body: Buffer): Entry['bodies'] {
  return {
    identity: body,
    br: brotliCompressSync(body, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
    }),
    gzip: gzipSync(body, { level: 9 }),
  };
}

/** The opaque part of each entity tag in an If-None-Match list, weak or strong alike. */
const listedTags = (ifNoneMatch: string) => ifNoneMatch.split(',').map((tag) => tag.trim().replace(/^W\//, ''));

export default fp<ResponseCacheOptions>(
  async (app, options) => {
    const maxEntries = options.maxEntries ?? 2000;
    const cacheControl = options.cacheControl ?? 'public, max-age=300, stale-while-revalidate=60';
    const release = app.kb.release;
    const releaseTag = `${release.id}-${release.contentHash.slice(-12)}`;
    // Insertion order doubles as recency: a hit is moved to the end, the oldest entry is evicted.
    const entries = new Map<string, Entry>();
    // Clients send a handful of distinct Accept-Encoding values; each is parsed once.
    const codings = new Map<string, ContentCoding>();

    const codingFor = (header: string | undefined): ContentCoding => {
      if (!header) return 'identity';
      let coding = codings.get(header);
      if (coding === undefined) {
        coding = negotiateCoding(header);
        if (codings.size >= 256) codings.clear();
        codings.set(header, coding);
      }
      return coding;
    };

    const tagOf = (key: string) => `${releaseTag}-${createHash('sha1').update(key).digest('base64url').slice(0, 16)}`;
    // Each coding is its own representation with its own strong ETag; any of them means the
    // client holds the current content, so any of them is answered with 304.
    const etagOf = (tag: string, coding: ContentCoding) => (coding === 'identity' ? `"${tag}"` : `"${tag}-${coding}"`);
    const isCurrent = (ifNoneMatch: string | undefined, tag: string) =>
      ifNoneMatch !== undefined &&
      (ifNoneMatch.trim() === '*' || listedTags(ifNoneMatch).some((t) => t === `"${tag}"` || t === `"${tag}-br"` || t === `"${tag}-gzip"`));

    app.decorate('sendCached', function sendCached(request, reply, key, schema, build) {
      let entry = entries.get(key);
      if (entry) {
        entries.delete(key);
        entries.set(key, entry);
      }
      const coding = codingFor(request.headers['accept-encoding']);
      const tag = entry?.tag ?? tagOf(key);
      const vary = reply.getHeader('vary');
      reply
        .header('etag', etagOf(tag, coding))
        .header('cache-control', cacheControl)
        .header('vary', vary ? `${vary}, Accept-Encoding` : 'Accept-Encoding');
      if (isCurrent(request.headers['if-none-match'], tag)) {
        return reply.code(304).send();
      }
      if (!entry) {
        // Validated once when built, so the cached bytes always match the documented schema.
        entry = { tag, bodies: encodings(Buffer.from(JSON.stringify(schema.parse(build())))) };
        entries.set(key, entry);
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      }
      if (coding !== 'identity') reply.header('content-encoding', coding);
      return reply.type('application/json; charset=utf-8').send(entry.bodies[coding]);
    });
  },
  { name: 'response-cache', dependencies: ['store'] },
);
