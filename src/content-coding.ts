import { type BrotliOptions, constants, type ZlibOptions } from 'node:zlib';
import type { FastifyReply } from 'fastify';
import { varyOn } from './vary.js';

/** The content codings the API sends; identity is always available. */
export type ContentCoding = 'br' | 'gzip' | 'identity';
export type Compressed = Exclude<ContentCoding, 'identity'>;

const BR_OR_GZIP: readonly Compressed[] = ['br', 'gzip'];

/**
 * The content coding to send for an Accept-Encoding header (RFC 9110, 12.5.3): among the codings
 * on offer, the acceptable one with the highest q-value, in the order offered on a tie; identity
 * when none is acceptable, or when the header gives identity a higher q-value than the best of
 * them (on a tie, the coding is sent).
 */
export function negotiateCoding(acceptEncoding: string | undefined, offered: readonly Compressed[] = BR_OR_GZIP): ContentCoding {
  if (!acceptEncoding) return 'identity';
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.split(';');
    const coding = name.trim().toLowerCase();
    if (!coding) continue;
    // A malformed q-value makes the coding unacceptable rather than preferred.
    const weight = params.map((p) => p.trim()).find((p) => /^q\s*=/i.test(p));
    const value = weight === undefined ? 1 : /^q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i.test(weight) ? Number(weight.split('=')[1]) : 0;
    q.set(coding === 'x-gzip' ? 'gzip' : coding, value);
  }
  let best: ContentCoding = 'identity';
  let bestWeight = 0;
  for (const coding of offered) {
    const weight = q.get(coding) ?? q.get('*') ?? 0;
    if (weight > bestWeight) {
      best = coding;
      bestWeight = weight;
    }
  }
  // `*` covers identity too when the header does not name it.
  return (q.get('identity') ?? q.get('*') ?? 0) > bestWeight ? 'identity' : best;
}

// Clients send a handful of distinct Accept-Encoding values; each is parsed once per offer, the
// offers being a few constant arrays.
const negotiated = new Map<readonly Compressed[], Map<string, ContentCoding>>();

/** negotiateCoding, remembered per offer and header value. */
export function codingFor(acceptEncoding: string | undefined, offered: readonly Compressed[] = BR_OR_GZIP): ContentCoding {
  if (!acceptEncoding) return 'identity';
  let byHeader = negotiated.get(offered);
  if (byHeader === undefined) {
    byHeader = new Map();
    negotiated.set(offered, byHeader);
  }
  let coding = byHeader.get(acceptEncoding);
  if (coding === undefined) {
    coding = negotiateCoding(acceptEncoding, offered);
    if (byHeader.size >= 256) byHeader.clear();
    byHeader.set(acceptEncoding, coding);
  }
  return coding;
}

export const varyOnAcceptEncoding = (reply: FastifyReply): FastifyReply => varyOn(reply, 'Accept-Encoding');

/** How the API compresses the bodies it keeps compressed: gzip at level 9. */
export const GZIP_OPTIONS: ZlibOptions = { level: 9 };

/** Brotli at quality 9 for a body of `size` bytes; `windowBits` bounds the encoder's window (and memory). */
export function brotliOptions(size: number, windowBits?: number): BrotliOptions {
  return {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 9,
      [constants.BROTLI_PARAM_SIZE_HINT]: size,
      ...(windowBits === undefined ? {} : { [constants.BROTLI_PARAM_LGWIN]: windowBits }),
    },
  };
}
