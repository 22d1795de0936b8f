import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isDamageCode, storageFaultCode } from '../db/storage-faults.js';
import type { KnowledgeBase } from '../domain/knowledge-base.js';
import { ApiError, type FieldProblem, fieldPath, type ProblemFields, problemBody, slugHint } from '../errors.js';
import { elsewhere, objectAt, unknownNameMessage } from '../names.js';
import { PROBLEM_TYPES_BY_CODE, type ProblemCode } from '../problem-types.js';
import { GIVEN_MORE_THAN_ONCE } from '../schemas/common.js';

/**
 * Headers a route may have set for the body it meant to send. A problem sent in its place drops
 * them: a CSV export's 500 sent as an attachment would be saved as the spreadsheet, one with the
 * body's ETag and Cache-Control could be kept by a cache as that body's answer, and a list's 412
 * has no pages to link.
 */
const REPRESENTATION_HEADERS = ['etag', 'last-modified', 'cache-control', 'content-disposition', 'content-encoding', 'link'];

/** Sends a problem+json answer; the one way an error reaches a client. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ProblemFields) {
  for (const name of REPRESENTATION_HEADERS) reply.removeHeader(name);
  return reply.code(problem.status).type('application/problem+json').serializer(JSON.stringify).send(problemBody(request, problem));
}

/** The media type a request's body came as, for a 415's detail: shortened, and quoted as JSON text. */
function mediaTypeOf(request: FastifyRequest): string {
  const type = request.headers['content-type'];
  return type === undefined || type.trim() === '' ? 'no Content-Type' : JSON.stringify(type.length > 100 ? `${type.slice(0, 100)}…` : type);
}

/** The slugs a path or query parameter names, by the parameter's name (`roles` is the comparisons' list of them). */
function slugsOf(kb: KnowledgeBase | undefined, name: unknown): ReadonlyMap<string, unknown> | undefined {
  if (kb === undefined) return undefined;
  if (name === 'role' || name === 'roles') return kb.roleBySlug;
  if (name === 'competency') return kb.competencyBySlug;
  if (name === 'companySize') return kb.companySizeBySlug;
  if (name === 'source') return kb.sourceById;
  if (name === 'code') return PROBLEM_TYPES_BY_CODE;
  return undefined;
}

/** The text a client sent at `path` of its params or query: one slug of a comma-separated list by its index. */
function sentAt(request: FastifyRequest, context: string, path: readonly (string | number)[]): unknown {
  const values = (context === 'params' ? request.params : context === 'querystring' ? request.query : undefined) as
    | Record<string, unknown>
    | undefined;
  const [name, index] = path;
  const sent = typeof name === 'string' ? values?.[name] : undefined;
  if (path.length === 1) return sent;
  return path.length === 2 && typeof index === 'number' && typeof sent === 'string' ? sent.split(',')[index] : undefined;
}

/** Fastify error codes that need no branch of their own below, with the problem code each becomes. */
const FRAMEWORK_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid-content-length',
};

/** Seconds a client is told to wait after a storage fault: about what a full disk or a held lock takes to clear, if it does. */
const STORAGE_RETRY_S = 5;

/**
 * A storage fault's detail, by the kind of its SQLite code. Only a request that stores something
 * (`storing`) is told that nothing was stored and to retry with its Idempotency-Key: a read has neither.
 */
function storageFaultDetail(code: string, storing: boolean): string {
  const cause = storageFaultCause(code);
  return storing
    ? `${cause} Nothing this answer would have acknowledged was stored: retry after the seconds in Retry-After, with the same Idempotency-Key if it had one.`
    : `${cause} Retry after the seconds in Retry-After.`;
}

/** What a storage fault's SQLite code says of its cause, in a sentence. */
function storageFaultCause(code: string): string {
  if (code.startsWith('SQLITE_FULL')) return "The database's disk is full.";
  if (/^SQLITE_(?:BUSY|LOCKED)/.test(code)) return "Another process held the database's write lock too long.";
  if (code.startsWith('SQLITE_READONLY')) return 'The database cannot be written.';
  if (isDamageCode(code)) return "The database's file is damaged.";
  return 'The database failed to read or write its file.';
}

/**
 * One log line of a kind a second at most, for errors that come in floods (every request of a
 * failing commit, every request shed under load): each line says how many were left out before it.
 * Once a second with some left out is over, the last of them writes its line with the count of the
 * others, so that the count of a flood that stops is told too.
 */
export class LogSampler {
  private at = Number.NEGATIVE_INFINITY;
  private leftOut = 0;
  /** The line of the last one left out, and the timer that writes it once its second is over. */
  private last: ((leftOut: number) => void) | undefined;
  private flush: NodeJS.Timeout | undefined;

  constructor(
    private readonly everyMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `log` with the number left out since the last line when its time has come; else counts one more. */
  take(log: (leftOut: number) => void): void {
    const now = this.now();
    if (now - this.at < this.everyMs) {
      this.leftOut++;
      this.last = log;
      this.flush ??= setTimeout(() => this.writeLast(), this.at + this.everyMs - now).unref();
      return;
    }
    this.write(log, this.leftOut, now);
  }

  /** Writes the line of the last one left out now, if any is waiting: the server is closing. */
  writeLast(): void {
    // Called by the server as it closes, the timer would otherwise outlive the app by up to a second.
    clearTimeout(this.flush);
    this.flush = undefined;
    if (this.last !== undefined && this.leftOut > 0) this.write(this.last, this.leftOut - 1, this.now());
  }

  private write(log: (leftOut: number) => void, leftOut: number, now: number): void {
    clearTimeout(this.flush);
    this.flush = undefined;
    this.last = undefined;
    log(leftOut);
    this.at = now;
    this.leftOut = 0;
  }
}

/**
 * The one place where errors become responses: every error is answered as problem+json, client
 * errors say what was wrong, and server errors are logged with the request id and never detailed.
 */
export default fp(
  async (app) => {
    const storageLog = new LogSampler();
    const sheddingLog = new LogSampler();
    const refusalLogs = new Map<ProblemCode, LogSampler>();
    // A flood that ends with the server (a shutdown's refusals) still has its count told.
    app.addHook('onClose', async () => {
      for (const sampler of [storageLog, sheddingLog, ...refusalLogs.values()]) sampler.writeLast();
    });
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof ApiError) {
        if (error.headers) reply.headers(error.headers);
        // A refusal of the server's own (no batch place free, shutting down) is a 5xx like any
        // other: logged with the request id, a line a second at most of each kind. So is a client
        // refused its share of batch places, which may be one holding them by not reading its answers.
        if (error.status >= 500 || error.code === 'too-many-batches') {
          let log = refusalLogs.get(error.code);
          if (log === undefined) {
            log = new LogSampler();
            refusalLogs.set(error.code, log);
          }
          log.take((alsoRefused) => request.log.warn({ code: error.code, requestId: request.id, alsoRefused }, `refused: ${error.detail}`));
        }
        return sendProblem(request, reply, error);
      }
      if (hasZodFastifySchemaValidationErrors(error)) {
        const context = error.validationContext ?? '';
        const errors: FieldProblem[] = error.validation.flatMap((issue) => {
          // The path arrives as text: its digit segments are list indexes, written [i] as in bodies.
          const path = issue.instancePath
            .split('/')
            .filter(Boolean)
            .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
          // Each unknown field or query parameter is named on its own, as in submissions.
          const unknown = issue.keyword === 'unrecognized_keys' ? (issue.params as { keys?: unknown }).keys : undefined;
          if (Array.isArray(unknown)) {
            const what = context === 'querystring' ? 'parameter' : 'field';
            const schema = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[context];
            const object = objectAt(schema, path);
            const known = Object.keys(object?.shape ?? {});
            const hints = object === undefined ? undefined : elsewhere.get(object);
            return unknown.map((key) => ({
              field: fieldPath(context, [...path, String(key)]),
              message: unknownNameMessage(what, String(key), known, hints),
            }));
          }
          // A query parameter sent twice arrives as a list, which the one-value schemas misreport.
          const [name] = path;
          const repeated =
            context === 'querystring' &&
            path.length === 1 &&
            typeof name === 'string' &&
            Array.isArray((request.query as Record<string, unknown> | undefined)?.[name]);
          // A parameter's own word on it (roles: how to send a list) is kept.
          const message = repeated
            ? issue.message?.startsWith(GIVEN_MORE_THAN_ONCE) === true
              ? issue.message
              : GIVEN_MORE_THAN_ONCE
            : slugHint(issue.message ?? 'is invalid', sentAt(request, context, path), slugsOf(request.server.kb, name));
          return [{ field: fieldPath(context, path), message }];
        });
        return sendProblem(request, reply, {
          status: 400,
          code: 'validation-error',
          detail: `The request is invalid: ${errors.length} problem${errors.length === 1 ? '' : 's'}.`,
          errors,
        });
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
          return sendProblem(request, reply, {
            status: 400,
            code: 'malformed-body',
            detail: 'The body is empty: this operation takes a JSON body.',
          });
        }
        if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
          return sendProblem(request, reply, {
            status: 400,
            code: 'malformed-body',
            detail: 'The body is not valid JSON.',
          });
        }
        if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
          return sendProblem(request, reply, {
            status: 415,
            code: 'unsupported-media-type',
            detail: `The body must be JSON sent as Content-Type: application/json (this one came as ${mediaTypeOf(request)}).`,
          });
        }
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
          return sendProblem(request, reply, {
            status: 413,
            code: 'payload-too-large',
            detail: `The body is larger than the ${request.routeOptions.bodyLimit} bytes this operation accepts.`,
          });
        }
        // The documentation's file server, given a Range past the end of a file: the problem keeps the
        // Content-Range that says the file's length (RFC 9110, 15.5.17).
        if (status === 416) {
          const range = (error as { headers?: Record<string, unknown> }).headers?.['Content-Range'];
          if (typeof range === 'string') reply.header('content-range', range);
          return sendProblem(request, reply, {
            status,
            code: 'range-not-satisfiable',
            // Also the answer to a Range that is no byte range at all (`bytes=abc`), which RFC 9110 (14.2) lets a server refuse.
            detail:
              'The Range names no bytes of the file that can be sent (none within its length, or none written as a byte range): Content-Range gives its length.',
          });
        }
        // The documentation's file server, given an If-Match or If-Unmodified-Since the file fails.
        if (status === 412) {
          return sendProblem(request, reply, {
            status,
            code: 'precondition-failed',
            detail: 'The file has changed since the validator in If-Match or If-Unmodified-Since was read.',
          });
        }
        // The one 403 a route can give: the documentation's file server refusing a `..` segment.
        if (status === 403) {
          return sendProblem(request, reply, { status, code: 'forbidden', detail: 'This path has a `..` segment: it is not served.' });
        }
        // The documentation's file server refuses a path it cannot decode, or one that holds a NUL byte
        // (`%00`), with a bare "Bad Request".
        if (status === 400 && request.routeOptions.url === '/docs/static/*' && error.code === undefined) {
          return sendProblem(request, reply, {
            status,
            code: 'bad-url',
            detail: 'This path holds a NUL byte (`%00`) or percent-encoding that does not decode: it names no file.',
          });
        }
        return sendProblem(request, reply, {
          status,
          code: FRAMEWORK_CODES[error.code] ?? 'bad-request',
          detail: error.message,
        });
      }
      if (status === 503 && error.code === 'FST_UNDER_PRESSURE') {
        sheddingLog.take((alsoShed) => request.log.warn({ requestId: request.id, alsoShed }, 'shedding load: event loop delayed'));
        return sendProblem(request, reply, {
          status: 503,
          code: 'overloaded',
          detail: 'The server is overloaded. Retry after the time given in Retry-After.',
        });
      }
      const storageFault = storageFaultCode(error);
      if (storageFault !== undefined) {
        // Every request of a failing commit gets here: the fault is logged without the stack.
        storageLog.take((alsoFailed) =>
          request.log.error({ code: storageFault, requestId: request.id, alsoFailed }, `storage fault: ${error.message}`),
        );
        return sendProblem(request, reply.header('retry-after', String(STORAGE_RETRY_S)), {
          status: 503,
          code: 'storage-unavailable',
          detail: storageFaultDetail(storageFault, request.method !== 'GET' && request.method !== 'HEAD'),
        });
      }
      request.log.error({ err: error, requestId: request.id }, 'request failed');
      return sendProblem(request, reply, {
        status: 500,
        code: 'internal-error',
        detail: 'An unexpected error occurred. Quote the request id when reporting it.',
      });
    });
  },
  { name: 'errors' },
);
