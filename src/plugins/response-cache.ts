import { createHash } from 'node:crypto';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';
import { failsIfMatch, isCurrent } from '../conditional.js';
import { brotliOptions, type ContentCoding, codingFor, GZIP_OPTIONS, varyOnAcceptEncoding } from '../content-coding.js';
import { ApiError } from '../errors.js';
import { linkPages } from '../page-links.js';
import { paginate } from '../schemas/common.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Answers a knowledge-base GET (or /v1/meta) from a cache of serialized bodies, compressed once
     * for clients that accept brotli or gzip. The ETag is a hash of the cache key and the body's
     * bytes (with the content coding), so it changes whenever the bytes do, whether the release or
     * the code that builds them changed; once a key's body is cached, If-None-Match is answered
     * without building anything.
     */
    sendCached<S extends z.ZodType>(
      request: FastifyRequest,
      reply: FastifyReply,
      key: string,
      schema: S,
      build: () => z.input<S>,
    ): FastifyReply;
    /**
     * sendCached for a page of a list: the page of what `list` gives at the request's `limit` and
     * `offset`, with a Link header to the other pages. The list's length is kept with the page, so
     * a page answered from the cache filters nothing.
     */
    sendCachedPage<S extends z.ZodType<unknown, Page<unknown>>>(
      request: FastifyRequest,
      reply: FastifyReply,
      key: string,
      schema: S,
      list: () => readonly z.input<S>['items'][number][],
    ): FastifyReply;
    /** sendCached for a body that is not JSON: the text `build` gives, sent as `contentType`. */
    sendCachedText(request: FastifyRequest, reply: FastifyReply, key: string, contentType: string, build: () => string): FastifyReply;
  }
}

/** One cached body in every coding, as bytes ready to send, with the ETag of each; a page, with the length of its list. */
type Entry = { contentType: string; etags: Record<ContentCoding, string>; bodies: Record<ContentCoding, Buffer>; total?: number };

type Page<T> = { items: T[]; total: number; limit: number; offset: number };

const JSON_TYPE = 'application/json; charset=utf-8';

export type ResponseCacheOptions = {
  maxEntries?: number;
  /** Starts every ETag, for people reading them (the API gives the knowledge-base release). */
  tagPrefix?: string;
};

/**
 * A buffer that keeps only its own bytes alive, for as long as the entry is kept. A small result of
 * zlib's sync calls is a slice of a 16 KiB output buffer, and a small `Buffer.from` a slice of Node's
 * shared pool, 8 KiB up to Node 24.17 and 64 KiB from 24.18: 2,000 cached bodies held 83 MB there.
 * The copy is not taken from the pool either.
 */
const ownBytes = (buffer: Buffer) => {
  if (buffer.length === buffer.buffer.byteLength) return buffer;
  const own = Buffer.allocUnsafeSlow(buffer.length);
  buffer.copy(own);
  return own;
};

/** A body in every coding the cache sends. */
export function encodings(body: Buffer): Entry['bodies'] {
  return {
    identity: ownBytes(body),
    // A 64 KiB window covers every body the API caches and keeps the encoder's memory small.
    br: ownBytes(brotliCompressSync(body, brotliOptions(body.length, 16))),
    gzip: ownBytes(gzipSync(body, GZIP_OPTIONS)),
  };
}

export default fp<ResponseCacheOptions>(
  async (app, options) => {
    const maxEntries = options.maxEntries ?? 2000;
    const cacheControl = 'public, max-age=300, stale-while-revalidate=60';
    // Insertion order doubles as recency: a hit is moved to the end, the oldest entry is evicted.
    const entries = new Map<string, Entry>();
    const prefix = options.tagPrefix === undefined ? '' : `${options.tagPrefix}-`;
    /**
     * A body in every coding, with the ETag of each. Each coding is its own representation with its
     * own strong ETag. The key is hashed with the bytes so that two resources never share an ETag,
     * even with equal bodies.
     */
    const entryOf = (key: string, contentType: string, text: string): Entry => {
      const body = Buffer.from(text);
      const tag = prefix + createHash('sha256').update(key).update('\0').update(body).digest('base64url').slice(0, 22);
      return { contentType, etags: { identity: `"${tag}"`, br: `"${tag}-br"`, gzip: `"${tag}-gzip"` }, bodies: encodings(body) };
    };
    /** A key's entry, moved to the newest end, or undefined when it has none yet. */
    const cached = (key: string) => {
      const entry = entries.get(key);
      if (entry !== undefined) {
        entries.delete(key);
        entries.set(key, entry);
      }
      return entry;
    };
    const keep = (key: string, entry: Entry) => {
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
      entries.set(key, entry);
      return entry;
    };

    // An entry is built before If-None-Match is compared: the ETag comes from the bytes.
    const send = (request: FastifyRequest, reply: FastifyReply, entry: Entry) => {
      const coding = codingFor(request.headers['accept-encoding']);
      const { etags } = entry;
      varyOnAcceptEncoding(reply).header('etag', etags[coding]).header('cache-control', cacheControl);
      // If-Match comes first (RFC 9110, 13.2.2), compared with the same representation's tag. Its
      // problem drops the ETag and Cache-Control set above, as every problem does (sendProblem).
      if (failsIfMatch(request.headers['if-match'], etags[coding])) {
        throw new ApiError('precondition-failed', `If-Match names no tag of the current representation, ${etags[coding]}.`);
      }
      // The tag compared is that of the representation this request selects (RFC 9110, 13.1.2): a
      // client holding the plain body that now asks for gzip gets the gzip body, not a 304 for a
      // representation it does not hold.
      const notModified = isCurrent(request.headers['if-none-match'], etags[coding]);
      if (notModified && request.method !== 'HEAD') return reply.code(304).send();
      const body = entry.bodies[coding];
      reply.type(entry.contentType);
      if (coding !== 'identity') reply.header('content-encoding', coding);
      // A HEAD's 304 gets the body too: Fastify's HEAD handling then sends the length of the 200 the
      // 304 stands for, with that 200's coding, the only length a 304 may carry (RFC 9110, 8.6),
      // where it would send 0.
      if (notModified) return reply.code(304).send(body);
      // Repeated before routing from now on (see CachedFront).
      app.cachedFront.remember(request.raw, coding, reply, body);
      return reply.send(body);
    };

    // JSON is checked against its schema before it is kept, so cached bytes always match the document.
    app.decorate('sendCached', function sendCached(request, reply, key, schema, build) {
      const entry = cached(key) ?? keep(key, entryOf(key, JSON_TYPE, JSON.stringify(schema.parse(build()))));
      return send(request, reply, entry);
    });
    app.decorate('sendCachedPage', function sendCachedPage(request, reply, key, schema, list) {
      let entry = cached(key);
      if (entry === undefined) {
        const { limit, offset } = request.query as { limit: number; offset: number };
        const all = list();
        entry = keep(key, { ...entryOf(key, JSON_TYPE, JSON.stringify(schema.parse(paginate(all, limit, offset)))), total: all.length });
      }
      if (entry.total !== undefined) linkPages(request, reply, entry.total);
      return send(request, reply, entry);
    });
    app.decorate('sendCachedText', function sendCachedText(request, reply, key, contentType, build) {
      return send(request, reply, cached(key) ?? keep(key, entryOf(key, contentType, build())));
    });
  },
  { name: 'response-cache', decorators: { fastify: ['cachedFront'] } },
);
