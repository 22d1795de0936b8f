// How the assessment routes send what the service gives them: stored JSON as it is, documents kept
// compressed in the coding the client takes, 304s, and batch answers compressed off the event loop.
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Compressed, codingFor, varyOnAcceptEncoding } from '../../content-coding.js';
import type { FoundAssessment, StoredResponse } from '../../services/assessments.js';

/** Documents stored compressed are offered in gzip, their one coding; the others in identity only. */
const GZIP_ONLY: readonly Compressed[] = ['gzip'];

/**
 * A batch's answer from this size on is sent gzip-compressed to a client that accepts gzip: up to
 * 500 assessments of about 10 KB each. It is compressed off the event loop, at the fastest level
 * (a 3 MB answer in about 20 ms of a worker thread).
 */
const COMPRESS_BATCH_FROM = 16 * 1024;
const gzipAsync = promisify(gzip);

/** JSON text or bytes, sent as they are. */
export const sendJson = (reply: FastifyReply, json: string | Buffer | Readable) => reply.type('application/json; charset=utf-8').send(json);

/** A document kept compressed, as this request takes it: its gzip bytes when it accepts gzip, its JSON otherwise. */
const gzippedFor = (request: FastifyRequest, reply: FastifyReply, gzip: Buffer) => {
  varyOnAcceptEncoding(reply);
  return codingFor(request.headers['accept-encoding'], GZIP_ONLY) === 'gzip'
    ? { body: gzip, gzipped: true }
    : { body: gunzipSync(gzip), gzipped: false };
};

export const sendGzipped = (request: FastifyRequest, reply: FastifyReply, gzip: Buffer) => {
  const { body, gzipped } = gzippedFor(request, reply, gzip);
  return sendJson(gzipped ? reply.header('content-encoding', 'gzip') : reply, body);
};

/**
 * A stored assessment's 304, with the headers its 200 would carry but Content-Encoding. A HEAD's
 * 304 is given the 200's body, and its Content-Encoding with it: Fastify's HEAD handling then sends
 * that body's length, the only Content-Length a 304 may carry (RFC 9110, 8.6), where it would send 0.
 */
export const sendNotModified = (request: FastifyRequest, reply: FastifyReply, found: FoundAssessment) => {
  reply.code(304);
  if (request.method !== 'HEAD') {
    if (found.gzip !== undefined) varyOnAcceptEncoding(reply);
    return reply.send();
  }
  return found.gzip === undefined ? sendJson(reply, found.json) : sendGzipped(request, reply, found.gzip);
};

/** A stored response (a submission's 201, a problem, a replay), with its Location and replay headers. */
export const sendStored = (reply: FastifyReply, response: StoredResponse, body: string | Buffer | Readable = response.body) => {
  if (response.assessmentId && response.status === 201) reply.header('location', `/v1/assessments/${response.assessmentId}`);
  if (response.replayed) reply.header('idempotent-replayed', 'true');
  return sendJson(reply.code(response.status), body);
};

/** A batch's answer larger than this goes out in pieces of this size, so that its progress shows. */
export const ANSWER_PIECE_BYTES = 64 * 1024;
/** By default, a batch's answer of which no piece goes out for this long is cut off (see inPieces). */
export const DEFAULT_ANSWER_STALL_MS = 10_000;

/**
 * A batch's answer as a stream of pieces, handed to the connection one at a time as it takes them,
 * and the connection closed when none is taken for `stallMs`. Written in one go, an answer of up to
 * about 5 MB showed no progress until it was all out, so a client that never read it could only be
 * told from a slow one by the connection's idle timeout, and held its batch place (and the answer's
 * memory) that long: two such clients kept every other batch out. A reader slower than a piece per
 * `stallMs` (6.4 KiB/s at the default) is cut off too; its assessments are stored, and a retry with
 * the same Idempotency-Key replays them.
 */
function inPieces(body: Buffer, raw: ServerResponse, stallMs: number): Readable {
  let at = 0;
  let timer: NodeJS.Timeout | undefined;
  const watch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => raw.destroy(), stallMs);
  };
  raw.once('close', () => clearTimeout(timer));
  // No read ahead: a piece is asked for only once the connection has taken the one before it.
  return new Readable({
    highWaterMark: 0,
    read() {
      watch();
      const piece = body.subarray(at, at + ANSWER_PIECE_BYTES);
      at += piece.length;
      this.push(piece.length > 0 ? piece : null);
    },
  });
}

/** A batch's answer (first sent or replayed), compressed when it is large and the client accepts gzip. */
export const sendBatch = async (
  request: FastifyRequest,
  reply: FastifyReply,
  response: StoredResponse,
  stallMs = DEFAULT_ANSWER_STALL_MS,
) => {
  varyOnAcceptEncoding(reply);
  const gzipped = response.body.length >= COMPRESS_BATCH_FROM && codingFor(request.headers['accept-encoding'], GZIP_ONLY) === 'gzip';
  const body = gzipped ? await gzipAsync(response.body, { level: 1 }) : Buffer.from(response.body);
  if (gzipped) reply.header('content-encoding', 'gzip');
  if (body.length <= ANSWER_PIECE_BYTES) return sendStored(reply, response, body);
  reply.header('content-length', body.length);
  return sendStored(reply, response, inPieces(body, reply.raw, stallMs));
};
