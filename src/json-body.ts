import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest, preParsingHookHandler, preValidationHookHandler } from 'fastify';
import {
  BadRequestError,
  ForbiddenKeyError,
  fieldPath,
  MAX_LISTED_PROBLEMS,
  NotJsonError,
  NotUtf8Error,
  UnsupportedCharsetError,
  UnsupportedContentCodingError,
} from './errors.js';
import { foundAt, jsonError, lineAndColumn, memberNamesIn, repeatedMembers } from './json-syntax.js';
import { GIVEN_MORE_THAN_ONCE } from './schemas/common.js';

// How request bodies become values: JSON only, strict UTF-8, no content coding, no prototype keys,
// no deeper nesting than a submission could need. Every refusal is an error the error handler answers.

const MAX_JSON_DEPTH = 32;
/** Members of one JSON object: no object of the API has more than three. */
export const MAX_JSON_MEMBERS = 16;
/** Distinct member names in one body: the API's bodies use six. */
export const MAX_JSON_NAMES = 256;
/** Elements of one JSON array: twice the longest list the API takes (a batch's 500 items). */
export const MAX_JSON_ELEMENTS = 1000;
/** Values in one body: above the largest batch (500 items of 200 answers, about 300,000 values). */
export const MAX_JSON_VALUES = 400_000;
/**
 * Bodies shorter than this are parsed without the scan: at worst about a millisecond of parsing,
 * where the scan would add a few microseconds to every submission (2 KB).
 */
const SCANNED_FROM_BYTES = 16 * 1024;
/** A body sent to a route that takes none. */
class NoBodyError extends BadRequestError {
  constructor() {
    super('This operation takes no body: send none (an empty one sent as JSON is taken as none). Nothing was changed.', [
      { field: 'body', message: 'must be empty' },
    ]);
  }
}

/** What a body nested deeper than MAX_JSON_DEPTH is told, by the scan or after the parse. */
const TOO_DEEP = `is nested more than ${MAX_JSON_DEPTH} levels deep`;

/**
 * Why a JSON body would be costly to parse for what the API can take from it, found in one pass over
 * its bytes before JSON.parse: an object with more than MAX_JSON_MEMBERS members, an array of more
 * than MAX_JSON_ELEMENTS elements, more than MAX_JSON_VALUES values, more than MAX_JSON_NAMES
 * distinct member names, or nesting deeper than MAX_JSON_DEPTH (where the counts above stop, so
 * that a body wrapped in one more bracket would otherwise be parsed whole). Parsing 3.5–4 MiB held
 * the event loop for 0.35–1 s, for a 400 in the end, when it was one object of 480,000 keys,
 * 1,300,000 empty objects, or objects whose keys were all different (each new name gives V8 a new
 * object shape to build); 64 names in a new order in each object still took 0.26 s, 8 names 0.1 s,
 * against 0.02 s for one shape. Undefined when none of that is so, or when the bytes are not
 * well-formed enough to count (then the parser says what is wrong). Strings are skipped, escapes and
 * all. A name is told from the others by a hash of its bytes: names that collide count once, which
 * errs towards letting a body through.
 */
export function costlyStructure(bytes: Uint8Array): string | undefined {
  // Indexed by depth, 1 for the outermost container: an object or array at MAX_JSON_DEPTH levels
  // below it (depth MAX_JSON_DEPTH + 1) is refused.
  const isObject = new Uint8Array(MAX_JSON_DEPTH + 1);
  const counts = new Int32Array(MAX_JSON_DEPTH + 1);
  const names = new Set<number>();
  let depth = 0;
  let values = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (c === 0x22) {
      // A string: skip to its closing quote, hashing its bytes (FNV-1a) in case it names a member.
      let hash = 0x811c9dc5;
      for (i++; i < bytes.length && bytes[i] !== 0x22; i++) {
        if (bytes[i] === 0x5c) hash = Math.imul(hash ^ 0x5c, 0x01000193) ^ (bytes[++i] as number);
        else hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193);
      }
      if (depth > 0 && isObject[depth] === 1 && nextIsColon(bytes, i + 1)) {
        names.add(hash);
        if (names.size > MAX_JSON_NAMES) return `has more than ${MAX_JSON_NAMES} distinct member names`;
      }
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) return TOO_DEEP;
      values++;
      isObject[depth] = c === 0x7b ? 1 : 0;
      counts[depth] = 1;
    } else if (c === 0x7d || c === 0x5d) {
      if (--depth < 0) return undefined;
    } else if (c === 0x2c) {
      values++;
      if (depth > 0) {
        const n = ++(counts[depth] as number);
        if (isObject[depth] === 1 ? n > MAX_JSON_MEMBERS : n > MAX_JSON_ELEMENTS) {
          return isObject[depth] === 1
            ? `has an object of more than ${MAX_JSON_MEMBERS} members`
            : `has an array of more than ${MAX_JSON_ELEMENTS} elements`;
        }
      }
    }
    if (values > MAX_JSON_VALUES) return `has more than ${MAX_JSON_VALUES} values`;
  }
  return undefined;
}

/** Whether the next byte from `at` that is not JSON whitespace is a colon: the string before it names a member. */
function nextIsColon(bytes: Uint8Array, at: number): boolean {
  let i = at;
  while (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09) i++;
  return bytes[i] === 0x3a;
}

/**
 * How many members the objects of a parsed value have in all, or -1 when an object or array sits
 * `limit` or more levels below the root. The recursion stops at the limit, so a hostile body cannot
 * exhaust the stack, and it allocates nothing: every body with content goes through it.
 */
function membersBelow(value: unknown, limit: number, depth = 0): number {
  if (value === null || typeof value !== 'object') return 0;
  if (depth >= limit) return -1;
  let members = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const inner = membersBelow(value[i], limit, depth + 1);
      if (inner < 0) return -1;
      members += inner;
    }
    return members;
  }
  for (const key in value) {
    const inner = membersBelow((value as Record<string, unknown>)[key], limit, depth + 1);
    if (inner < 0) return -1;
    members += inner + 1;
  }
  return members;
}

/** How many colons `text` holds, inside strings or not. */
function colonsIn(text: string): number {
  let count = 0;
  for (let at = text.indexOf(':'); at >= 0; at = text.indexOf(':', at + 1)) count++;
  return count;
}

/**
 * A body in which a member name comes twice in one object, or undefined. JSON.parse keeps the last
 * value and says nothing, so a client whose serializer repeats a field would have another value
 * scored than the one it meant, without a word; JSON leaves what such a text means open (RFC 8259,
 * 4), and I-JSON (RFC 7493) rules it out. Looked for only when the parsed value has fewer members
 * than the text has names.
 */
function repeatedMembersError(body: string, members: number): BadRequestError | undefined {
  // Every name has its colon, so as many colons as members (the usual body) means no name repeats;
  // counting them is a tenth of the work of telling the ones inside strings apart.
  if (members === colonsIn(body) || members === memberNamesIn(body)) return undefined;
  // One more than a problem lists is looked for (to say there are more): a 4 MiB batch can hold hundreds of thousands.
  const repeated = repeatedMembers(body, MAX_LISTED_PROBLEMS + 1);
  if (repeated.length === 0) return undefined;
  const count = repeated.length;
  const counted =
    count === 1 ? 'a member name' : count > MAX_LISTED_PROBLEMS ? `more than ${MAX_LISTED_PROBLEMS} member names` : `${count} member names`;
  return new BadRequestError(
    `The body repeats ${counted} within an object: give each member once.`,
    repeated.slice(0, MAX_LISTED_PROBLEMS).map((path) => ({ field: fieldPath('body', path), message: GIVEN_MORE_THAN_ONCE })),
  );
}

/**
 * A Content-Type parameter: `; name=value`, the value a quoted string (which may hold `;`; the second
 * group) or a token (the third). Text that opens a quote and never closes it is a token, read as sent.
 */
const PARAMETER = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;

/**
 * The charsets a Content-Type names, lowercase, a quoted one unquoted (a backslash keeps the
 * character after it), each once.
 */
function charsetsOf(contentType: string | undefined): string[] {
  const named = new Set<string>();
  for (const [, name, quoted, token = ''] of (contentType ?? '').matchAll(PARAMETER)) {
    if (name?.toLowerCase() === 'charset') named.add((quoted === undefined ? token : quoted.replace(/\\(.)/g, '$1')).toLowerCase());
  }
  return [...named];
}

/** Whether a body in this charset is UTF-8 (US-ASCII is a part of it). */
const readsAsUtf8 = (charset: string) => charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii';

/** Whether a request's Content-Encoding names a coding other than identity (the body is then not plain JSON). */
function hasContentCoding(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((coding) => {
    const name = coding.trim().toLowerCase();
    return name !== '' && name !== 'identity';
  });
}

/**
 * Why the text is not JSON, whatever keys it has (a leading byte-order mark is skipped, as the body
 * parser skips it): a NotJsonError with the line and column of its first error, or undefined for JSON.
 */
function notJson(text: string): NotJsonError | undefined {
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    JSON.parse(json);
    return undefined;
  } catch {
    // Told a line and a column past the end, a blank body would look like a truncated one.
    if (/^[ \t\n\r]*$/.test(json)) return new NotJsonError('blank');
    const error = jsonError(json);
    return new NotJsonError(
      error === undefined ? undefined : { ...lineAndColumn(json, error.at), found: foundAt(json, error.at), needs: error.needs },
    );
  }
}

/**
 * Whether Content-Type arrived on more than one line. Node keeps the first and drops the others, so a
 * proxy that reads the last would take the body for another type than the API does.
 */
function repeatedContentType(rawHeaders: readonly string[]): boolean {
  let lines = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 12 && name.toLowerCase() === 'content-type' && ++lines > 1) return true;
  }
  return false;
}

const REPEATED_CONTENT_TYPE = { field: 'headers.content-type', message: GIVEN_MORE_THAN_ONCE };

/** Whether a request says a body follows its headers (`Content-Length: 00` says none). */
export const declaresBody = (headers: IncomingHttpHeaders) =>
  headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;

/** Whether a Content-Type names JSON, the one media type bodies are read as (its parameters aside). */
export function namesJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const end = contentType.indexOf(';');
  return (end < 0 ? contentType : contentType.slice(0, end)).trim().toLowerCase() === 'application/json';
}

/**
 * Why a JSON body could not be read, known from the headers alone: a content coding (bodies are taken
 * as sent), or a charset that is not UTF-8 (every charset named must read as UTF-8, as
 * `charset=utf-8; charset=utf8` does; two that do not, or one of each, contradict each other).
 */
function unreadableAs(headers: IncomingHttpHeaders): Error | undefined {
  // What nearly every client sends, settled without parsing anything.
  if (headers['content-encoding'] === undefined && headers['content-type'] === 'application/json') return undefined;
  if (hasContentCoding(headers['content-encoding'])) return new UnsupportedContentCodingError();
  const charsets = charsetsOf(headers['content-type']);
  return charsets.every(readsAsUtf8) ? undefined : new UnsupportedCharsetError(charsets);
}

/** The parts of a request known before its body, in the order Fastify validates them. */
const PARTS_BEFORE_BODY = [
  ['params', (request: FastifyRequest) => request.params],
  ['querystring', (request: FastifyRequest) => request.query],
  ['headers', (request: FastifyRequest) => request.headers],
] as const;

/**
 * The validation error the route's schemas give the parts of the request that come before its body
 * (path parameters, query, headers), the first part that fails, shaped as Fastify shapes it (the
 * error handler reads `validation` and `validationContext`); undefined when they pass.
 */
function partsRefused(request: FastifyRequest): Error | undefined {
  for (const [part, partOf] of PARTS_BEFORE_BODY) {
    const validate = request.getValidationFunction(part) as ((value: unknown) => { error?: unknown }) | undefined;
    const result = validate?.(partOf(request));
    if (result?.error !== undefined) {
      return Object.assign(new Error(`The request's ${part} did not pass the route's schema.`), {
        statusCode: 400,
        code: 'FST_ERR_VALIDATION',
        validation: result.error,
        validationContext: part,
      });
    }
  }
  return undefined;
}

/**
 * A preParsing hook: a body the headers already say cannot be read is refused before it is read
 * (and before a client waiting for `100 Continue` is told to send it): one sent with more than one
 * Content-Type line, before a parser is chosen by the first line, whatever that line names; a JSON one
 * with a content coding or a charset other than UTF-8. So is a JSON request whose path, query or
 * headers the route refuses (an unknown query parameter, a malformed Idempotency-Key): checked after
 * the body, as Fastify checks them, they would lose to a body that does not parse, and the answer
 * would turn on whether the client waited for `100 Continue`. So is a JSON body of some length sent
 * to a route that takes none. Another media type is a 415 whatever
 * the rest, as its parser is chosen. GET and HEAD (whose bodies are never read) and requests no route
 * takes are left alone.
 */
export const refuseOnHeaders: preParsingHookHandler = (request, _reply, payload, done) => {
  const { headers } = request;
  if (request.is404 || request.method === 'GET' || request.method === 'HEAD') return done(null, payload);
  const hasBody = declaresBody(headers);
  if (hasBody && repeatedContentType(request.raw.rawHeaders)) {
    return done(new BadRequestError('The request has more than one Content-Type header: send one.', [REPEATED_CONTENT_TYPE]), undefined);
  }
  if (!namesJson(headers['content-type'])) return done(null, payload);
  const refused =
    (hasBody ? unreadableAs(headers) : undefined) ??
    partsRefused(request) ??
    // A route that takes no body refuses any but an empty one, which a Content-Length above 0 rules out.
    (request.routeOptions.config.readsNoBody === true && Number(headers['content-length'] ?? 0) > 0 ? new NoBodyError() : undefined);
  done(refused ?? null, refused === undefined ? payload : undefined);
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's JSON body arrives unparsed (a Buffer), for a preValidation hook of its own to parse
     * with `parseJsonBody` once it has admitted the request: parsing a large body is the costliest
     * work some requests do, and the route may bound it (a batch parses only once it holds a place).
     */
    parsesItsBody?: boolean;
    /** The route takes no body: an empty one sent as JSON is taken as none, and any other is a 400 without being parsed. */
    readsNoBody?: boolean;
  }
  interface FastifyInstance {
    /** A preValidation hook that parses the body of a `parsesItsBody` route as every other JSON body is parsed. */
    parseJsonBody: preValidationHookHandler;
  }
}

type Parsed = (error: Error | null, value?: unknown) => void;

/**
 * Replaces Fastify's JSON parser on the root instance (a parser registered in a plugin would stay in
 * it), and decorates the app with `parseJsonBody` for the routes that parse their bodies themselves.
 */
export function addJsonBodyParser(app: FastifyInstance): void {
  // JSON nested deeper than any real submission is refused as it is parsed, before anything walks
  // it; as a parser step it costs nothing on requests without a body.
  // Bodies are read as bytes and decoded as strict UTF-8: read as text, bytes of another encoding
  // (a Latin-1 name) would turn into replacement characters and be stored so.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // A leading byte-order mark is left for the JSON parser, which skips one, as it did before.
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const parse = (request: FastifyRequest, bytes: Buffer, done: Parsed) => {
    // Refused before the body is read as a rule (refuseOnHeaders); checked here where that hook did
    // not look: a request that declared no body, or a Content-Type Fastify takes as JSON where
    // namesJson does not.
    if (bytes.length === 0 || !namesJson(request.headers['content-type'])) {
      const unreadable = unreadableAs(request.headers);
      if (unreadable !== undefined) return done(unreadable, undefined);
    }
    // A route that takes no body is sent an empty one as JSON by clients that send the header on every
    // request; what any other would say, whitespace or not JSON at all, changes nothing the route does.
    if (request.routeOptions.config.readsNoBody === true) return done(bytes.length === 0 ? null : new NoBodyError(), undefined);
    let body: string;
    try {
      body = utf8.decode(bytes);
    } catch {
      return done(new NotUtf8Error(), undefined);
    }
    const costly = bytes.length < SCANNED_FROM_BYTES ? undefined : costlyStructure(bytes);
    if (costly !== undefined) return done(new BadRequestError(`The body ${costly}.`, [{ field: 'body', message: costly }]), undefined);
    parseJson(request, body, (error, value) => {
      // The parser refuses prototype keys as it refuses broken JSON: tell the two apart, on errors only.
      if (error) {
        // An empty body is told so (by the error handler); broken JSON where it goes wrong.
        const empty = (error as { code?: string }).code === 'FST_ERR_CTP_EMPTY_JSON_BODY';
        return done(empty ? error : (notJson(body) ?? new ForbiddenKeyError()), undefined);
      }
      const members = membersBelow(value, MAX_JSON_DEPTH);
      if (members < 0) return done(new BadRequestError(`The body ${TOO_DEEP}.`, [{ field: 'body', message: TOO_DEEP }]), undefined);
      const repeated = repeatedMembersError(body, members);
      if (repeated !== undefined) return done(repeated, undefined);
      done(null, value);
    });
  };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, bytes: Buffer, done) => {
    if (request.routeOptions.config.parsesItsBody === true) return done(null, bytes);
    parse(request, bytes, done);
  });
  app.decorate('parseJsonBody', ((request, _reply, done) => {
    // No body (none sent, or another media type refused before this) leaves nothing to parse.
    if (!Buffer.isBuffer(request.body)) return done();
    parse(request, request.body, (error, value) => {
      if (error) return done(error);
      request.body = value;
      done();
    });
  }) satisfies preValidationHookHandler);
}
