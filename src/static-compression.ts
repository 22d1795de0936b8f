import { ReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Compressed, codingFor, varyOnAcceptEncoding } from './content-coding.js';

/** Types that shrink when compressed; images other than SVG are compressed already. */
const COMPRESSIBLE = /^(?:text\/|application\/(?:javascript|json)|image\/svg\+xml)/;
/** Below this, the coding's overhead is most of what it saves. */
const MIN_BYTES = 1024;

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

function compress(body: Buffer, coding: Compressed): Promise<Buffer> {
  if (coding === 'gzip') return gzipAsync(body, { level: 9 });
  return brotli(body, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
  });
}

/**
 * An onSend hook that sends the files a static route streams (the docs page's scripts and styles,
 * about 2 MB as they are) compressed for clients that accept brotli or gzip. Each file is compressed
 * once per coding, on its first request, off the event loop, and kept: the files under a package
 * do not change while the process runs. The route's weak ETag and Last-Modified stay as they are,
 * so revalidation still ends in a 304 (a weak validator may be shared by representations that
 * differ only in their coding); ranges are served from the plain file. Whatever the hook cannot
 * compress (a read or compression error) goes out as the route sent it.
 */
export function compressStaticFiles(urlPrefix: string) {
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

  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (!request.url.startsWith(urlPrefix)) return payload;
    varyOnAcceptEncoding(reply);
    if (!(payload instanceof ReadStream) || reply.statusCode !== 200 || request.headers.range !== undefined) return payload;
    if (!COMPRESSIBLE.test(String(reply.getHeader('content-type') ?? '')) || Number(reply.getHeader('content-length')) < MIN_BYTES) {
      return payload;
    }
    const coding = codingFor(request.headers['accept-encoding']);
    if (coding === 'identity') return payload;
    let body: Buffer;
    try {
      body = await compressed(String(payload.path), coding);
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
