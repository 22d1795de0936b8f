import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';
import { type ContentCoding, codingFor, varyOnAcceptEncoding } from '../content-coding.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Answers a knowledge-base GET (or /v1/meta) from a per-release cache of serialized bodies,
     * compressed once for clients that accept brotli or gzip. The ETag is derived from the release, the cache key
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

/** One cached body in every coding, as bytes ready to send, with the ETag of each. */
type Entry = { etags: Record<ContentCoding, string>; bodies: Record<ContentCoding, Buffer> };

export type ResponseCacheOptions = { maxEntries?: number; cacheControl?: string };

function encodings(body: Buffer): Entry['bodies'] {
  return {
    identity: body,
    // A 64 KiB window covers every body the API caches and keeps the encoder's memory small.
    br: brotliCompressSync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 9,
        [constants.BROTLI_PARAM_LGWIN]: 16,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
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
    // Each coding is its own representation with its own strong ETag; any of them means the
    // client holds the current content, so any of them is answered with 304.
    const etagsOf = (key: string): Entry['etags'] => {
      const tag = `${releaseTag}-${createHash('sha1').update(key).digest('base64url').slice(0, 16)}`;
      return { identity: `"${tag}"`, br: `"${tag}-br"`, gzip: `"${tag}-gzip"` };
    };
    const isCurrent = (ifNoneMatch: string | undefined, etags: Entry['etags']) =>
      ifNoneMatch !== undefined &&
      (ifNoneMatch.trim() === '*' || listedTags(ifNoneMatch).some((t) => t === etags.identity || t === etags.br || t === etags.gzip));

    app.decorate('sendCached', function sendCached(request, reply, key, schema, build) {
      let entry = entries.get(key);
      if (entry) {
        entries.delete(key);
        entries.set(key, entry);
      }
      const coding = codingFor(request.headers['accept-encoding']);
      const etags = entry?.etags ?? etagsOf(key);
      varyOnAcceptEncoding(reply).header('etag', etags[coding]).header('cache-control', cacheControl);
      const notModified = isCurrent(request.headers['if-none-match'], etags);
      if (notModified && request.method !== 'HEAD') return reply.code(304).send();
      if (!entry) {
        // Validated once when built, so the cached bytes always match the documented schema.
        entry = { etags, bodies: encodings(Buffer.from(JSON.stringify(schema.parse(build())))) };
        entries.set(key, entry);
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      }
      const body = entry.bodies[coding];
      reply.type('application/json; charset=utf-8');
      // A HEAD's 304 gets the body too: Fastify's HEAD handling then sends the length of the 200 the
      // 304 stands for, the only one a 304 may carry (RFC 9110, 8.6), where it would send 0.
      if (notModified) return reply.code(304).send(body);
      if (coding !== 'identity') reply.header('content-encoding', coding);
      // Repeated before routing from now on (see CachedFront).
      app.cachedFront.remember(request.raw, coding, reply, body);
      return reply.send(body);
    });
  },
  { name: 'response-cache', dependencies: ['store'] },
);
