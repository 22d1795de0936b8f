import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Answers a knowledge-base GET from a per-release cache of serialized bodies. The ETag is derived
     * from the release and the cache key, so If-None-Match is answered before anything is built.
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

/** Bodies are kept as UTF-8 bytes, so a hit sends them without encoding them again. */
type Entry = { etag: string; body: Buffer };

export type ResponseCacheOptions = { maxEntries?: number; cacheControl?: string };

function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

export default fp<ResponseCacheOptions>(
  async (app, options) => {
    const maxEntries = options.maxEntries ?? 2000;
    const cacheControl = options.cacheControl ?? 'public, max-age=300, stale-while-revalidate=60';
    const release = app.kb.release;
    const releaseTag = `${release.id}-${release.contentHash.slice(-12)}`;
    // Insertion order doubles as recency: a hit is moved to the end, the oldest entry is evicted.
    const entries = new Map<string, Entry>();

    const etagOf = (key: string) => `"${releaseTag}-${createHash('sha1').update(key).digest('base64url').slice(0, 16)}"`;

    app.decorate('sendCached', function sendCached(request, reply, key, schema, build) {
      let entry = entries.get(key);
      if (entry) {
        entries.delete(key);
        entries.set(key, entry);
      }
      const etag = entry?.etag ?? etagOf(key);
      reply.header('etag', etag).header('cache-control', cacheControl);
      if (matches(request.headers['if-none-match'], etag)) {
        return reply.code(304).send();
      }
      if (!entry) {
        // Validated once when built, so the cached bytes always match the documented schema.
        entry = { etag, body: Buffer.from(JSON.stringify(schema.parse(build()))) };
        entries.set(key, entry);
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      }
      return reply.type('application/json; charset=utf-8').send(entry.body);
    });
  },
  { name: 'response-cache', dependencies: ['store'] },
);
