import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliCompress, gzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { brotliOptions, type Compressed, codingFor, GZIP_OPTIONS, varyOnAcceptEncoding } from './content-coding.js';

/** Types that shrink when compressed; images other than SVG are compressed already. */
const COMPRESSIBLE = /^(?:text\/|application\/(?:javascript|json)|image\/svg\+xml)/;
/** Below this, the coding's overhead is most of what it saves. */
const MIN_BYTES = 1024;

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** Compressed as the response cache compresses, with brotli's default window: these files run to 1.5 MB. */
const compress = (body: Buffer, coding: Compressed): Promise<Buffer> =>
  coding === 'gzip' ? gzipAsync(body, GZIP_OPTIONS) : brotli(body, brotliOptions(body.length));

/** `relative` resolved against `root`, when it lands inside it (on `root` itself only with `orRoot`); undefined otherwise. */
export function inside(root: string, relative: string, orRoot = false): string | undefined {
  const path = resolve(root, relative);
  return path.startsWith(root + sep) || (orRoot && path === root) ? path : undefined;
}

/**
 * An onSend hook that sends the files a static route serves from `root` under `urlPrefix` (the docs
 * page's scripts and styles, about 2 MB as they are) compressed for clients that accept brotli or
 * gzip, a HEAD with the headers of its GET. Each file is compressed once per coding, on its first
 * request, off the event loop, and kept: the files under a package do not change while the process
 * runs. The route's weak ETag and Last-Modified stay as they are, so revalidation still ends in a
 * 304 (a weak validator may be shared by representations that differ only in their coding); ranges
 * are served from the plain file. Whatever the hook cannot compress (a read or compression error)
 * goes out as the route sent it.
 */
export function compressStaticFiles(urlPrefix: string, root: string) {
  const cache = new Map<string, Promise<Buffer>>();
  const compressed = (path: string, coding: Compressed) => {
    const key = `${coding} ${path}`;
    let body = cache.get(key);
    if (body === undefined) {
      body = readFile(path).then((file) => compress(file, coding));
      // A failure is not kept: the next request tries again.
      body.catch(() => cache.delete(key));
      cache.set(key, body);
    }
    return body;
  };
  /** The file a 200 under the prefix was served from (the route has found it), or undefined. */
  const fileOf = (url: string) => {
    try {
      return inside(root, decodeURIComponent((url.split('?', 1)[0] as string).slice(urlPrefix.length)));
    } catch {
      return undefined;
    }
  };

  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (!request.url.startsWith(urlPrefix)) return payload;
    varyOnAcceptEncoding(reply);
    // A HEAD's payload is an empty stream, not the file's: it is dropped all the same.
    if (reply.statusCode !== 200 || request.headers.range !== undefined || !(payload instanceof Readable)) return payload;
    if (!COMPRESSIBLE.test(String(reply.getHeader('content-type') ?? '')) || Number(reply.getHeader('content-length')) < MIN_BYTES) {
      return payload;
    }
    const coding = codingFor(request.headers['accept-encoding']);
    const path = fileOf(request.url);
    if (coding === 'identity' || path === undefined) return payload;
    let body: Buffer;
    try {
      body = await compressed(path, coding);
    } catch {
      return payload;
    }
    payload.destroy();
    const etag = reply.getHeader('etag');
    if (typeof etag === 'string' && !etag.startsWith('W/')) reply.header('etag', `W/${etag}`);
    reply.removeHeader('accept-ranges');
    reply.header('content-encoding', coding).header('content-length', body.length);
    return body;
  };
}
