// How the assessment routes send what the service gives them: stored JSON as it is, documents kept
// compressed in the coding the client takes, 304s, and batch answers compressed off the event loop.
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
export const sendJson = (reply: FastifyReply, json: string | Buffer) => reply.type('application/json; charset=utf-8').send(json);

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
export const sendStored = (reply: FastifyReply, response: StoredResponse, body: string | Buffer = response.body) => {
  if (response.assessmentId && response.status === 201) reply.header('location', `/v1/assessments/${response.assessmentId}`);
  if (response.replayed) reply.header('idempotent-replayed', 'true');
  return sendJson(reply.code(response.status), body);
};

/** A batch's answer (first sent or replayed), compressed when it is large and the client accepts gzip. */
export const sendBatch = async (request: FastifyRequest, reply: FastifyReply, response: StoredResponse) => {
  varyOnAcceptEncoding(reply);
  // Bytes, not characters: labels outside ASCII take two to four bytes a character. Counted only for
  // an answer whose characters alone fall short, as they are few there.
  const large = response.body.length >= COMPRESS_BATCH_FROM || Buffer.byteLength(response.body) >= COMPRESS_BATCH_FROM;
  if (!large || codingFor(request.headers['accept-encoding'], GZIP_ONLY) !== 'gzip') {
    return sendStored(reply, response);
  }
  const compressed = await gzipAsync(response.body, { level: 1 });
  return sendStored(reply.header('content-encoding', 'gzip'), response, compressed);
};
