import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type IncomingMessage, METHODS, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { preParsingHookHandler } from 'fastify';
import type { CachedFront } from './cached-front.js';
import { problemBody } from './errors.js';
import { namesJson } from './json-body.js';
import { API_SECURITY_HEADERS } from './plugins/security-headers.js';
import type { ProblemCode } from './problem-types.js';

// Requests answered at the edge of the HTTP server, before or outside Fastify's routing: those
// Node's parser refuses, those without exactly one Host line or with an Expect the server does not
// meet, and, when it can, the cached front.

/** A problem answered before Fastify sees the request: its body and the API's headers, connection closed. */
function earlyProblem(status: number, code: ProblemCode, detail: string, url?: string) {
  const requestId = randomUUID();
  const problem = problemBody({ id: requestId, url }, { status, code, detail });
  const { title } = problem;
  const body = JSON.stringify(problem);
  const headers: Record<string, string> = {
    ...API_SECURITY_HEADERS,
    'x-request-id': requestId,
    'content-type': 'application/problem+json',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  };
  return { title, headers, body };
}

/**
 * How long an early answer's connection lingers: LINGER_MS, or none while the server shuts down
 * (its connections then close once their answers are written, as its other answers' do, so that
 * none holds the shutdown up).
 */
type Lingering = () => number;

function answerEarly(response: ServerResponse, linger: Lingering, status: number, code: ProblemCode, detail: string, url?: string): void {
  const { headers, body } = earlyProblem(status, code, detail, url);
  response.shouldKeepAlive = false;
  // Closed as a careful server closes (the body still on its way is read and dropped, so the client
  // reads this answer), and a request pipelined behind this one is dropped, never run.
  lingerOnClose(response.req, linger());
  response.writeHead(status, headers);
  response.end(body);
}

/**
 * A Host value as RFC 9112 (3.2) has it: `uri-host [ ":" port ]`, the host an IP literal in brackets
 * (IPv6, with a zone, or IPvFuture), or a registered name or IPv4 address (RFC 3986's reg-name
 * characters, which may be empty).
 */
const HOST_VALUE = /^(?:\[[0-9A-Za-z:.%~_!$&'()*+,;=-]+\]|[0-9A-Za-z._~!$&'()*+,;=%-]*)(?::[0-9]*)?$/;

/**
 * Answers 400 to a request without exactly one Host line, or whose Host is not a host and port, as
 * RFC 9112 (3.2) asks: Node keeps the first of several, does not look at the value, and its own check
 * of a missing Host answers without the API's headers (so the server turns that check off). True
 * when it answered.
 */
function refusedHost(request: IncomingMessage, response: ServerResponse, linger: Lingering): boolean {
  const raw = request.rawHeaders;
  let hosts = 0;
  let value = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      hosts++;
      value = raw[i + 1] as string;
    }
  }
  if (hosts === 1 ? HOST_VALUE.test(value) : hosts === 0 && request.httpVersion !== '1.1') return false;
  const detail =
    hosts === 1 ? `The Host header is not a host and port: ${JSON.stringify(value)}.` : 'An HTTP/1.1 request has exactly one Host header.';
  answerEarly(response, linger, 400, 'bad-host', detail, request.url);
  return true;
}

/** The 505 for a request in another version of HTTP, which `what` names (`is HTTP/2.0`), with those the server reads. */
const versionProblem = (what: string): [number, ProblemCode, string] => [
  505,
  'http-version-not-supported',
  `The request ${what}; the server speaks HTTP/1.1, and reads HTTP/1.0.`,
];

/**
 * Answers 505 to a request line in HTTP/2.0, or in HTTP/0.9 (or without a version, which the parser
 * reads as 0.9 once an empty line follows), all of which Node's parser reads as it reads HTTP/1.x: RFC
 * 9110 (15.6.6) gives a request in a major version the server does not speak this status, where a 200
 * in HTTP/1.1 would answer a client that reads something else. Node hands the request listener every
 * such request, with an Expect or not (checkContinue and checkExpectation are HTTP/1.1's alone). True
 * when it answered.
 */
function refusedVersion(request: IncomingMessage, response: ServerResponse, linger: Lingering): boolean {
  if (request.httpVersionMajor === 1) return false;
  const version = request.httpVersionMajor === 0 ? 'HTTP/0.9, or its request line names no version' : `HTTP/${request.httpVersion}`;
  answerEarly(response, linger, ...versionProblem(`is ${version}`), request.url);
  return true;
}

/**
 * Answers 501 to a body sent in a transfer coding other than chunked alone (`gzip, chunked`): Node
 * undoes the chunking and would hand the route the bytes still in the other coding, which RFC 9112
 * (6.1) asks a server that does not know the coding to refuse. True when it answered.
 */
function refusedTransferCoding(request: IncomingMessage, response: ServerResponse, linger: Lingering): boolean {
  const codings = request.headers['transfer-encoding'];
  if (codings === undefined || codings.trim().toLowerCase() === 'chunked') return false;
  answerEarly(
    response,
    linger,
    501,
    'not-implemented',
    `The body is sent with Transfer-Encoding: ${codings}; the only transfer coding read is chunked.`,
    request.url,
  );
  return true;
}

/**
 * Puts the Host check and the cached front before Fastify on Fastify's own HTTP server, whose one
 * request listener is Fastify's handler (so the server keeps Fastify's settings and bindings). A
 * request with an Expect other than 100-continue never reaches that listener: it is answered 417
 * here, once its Host lines pass. One that expects 100-continue is handled like any other, without
 * Node's automatic `100 Continue`: `continueBeforeBody` sends it once a route is about to read the
 * body, so a body refused on the request's headers alone (404, 405, 413, 429) is never sent.
 */
export function answerFirst(server: Server, front: CachedFront, isShuttingDown: () => boolean = () => false): void {
  const linger: Lingering = () => (isShuttingDown() ? 0 : LINGER_MS);
  const listeners = server.listeners('request') as ((request: IncomingMessage, response: ServerResponse) => void)[];
  const [fastify] = listeners;
  if (listeners.length !== 1 || fastify === undefined) throw new Error(`expected one request listener, found ${listeners.length}`);
  server.removeListener('request', fastify);
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    if (dropped(request)) return;
    const unreadTarget = toOriginForm(request);
    if (
      !refusedVersion(request, response, linger) &&
      !refusedHost(request, response, linger) &&
      !refusedTarget(response, unreadTarget, linger) &&
      !refusedTransferCoding(request, response, linger) &&
      !front.answer(request, response)
    ) {
      fastify(request, response);
    }
  };
  server.on('request', handle);
  server.on('checkContinue', handle);
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    if (dropped(request)) return;
    toOriginForm(request);
    if (refusedHost(request, response, linger)) return;
    answerEarly(response, linger, 417, 'expectation-failed', 'The only Expect the server meets is 100-continue.', request.url);
  });
  // Without a listener Node drops the connection of a CONNECT without a word. Pipelined behind other
  // requests, it is answered after them.
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    if (dropped(request)) return;
    socket.on('error', () => socket.destroy());
    request.resume();
    const [status, code, detail]: [number, ProblemCode, string] =
      request.httpVersionMajor === 1
        ? [501, 'not-implemented', 'CONNECT asks for a tunnel, which this server does not open.']
        : versionProblem(`is HTTP/${request.httpVersion}`);
    afterPendingResponses(socket, () => {
      writeRaw(socket, status, earlyProblem(status, code, detail));
      socket.end();
    });
  });
}

/** An http or https URL in absolute form, up to its authority (which may be empty). */
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)/i;

/**
 * What a request target that is not a path gives: the path and query of an http or https URL with a
 * host, or why it is refused. RFC 9110 asks for a host (4.2.1) and has a recipient treat userinfo in
 * such a URL as an error (4.2.4).
 */
function readAbsoluteForm(url: string): { path: string } | { refused: string } {
  const match = ABSOLUTE_FORM.exec(url);
  if (match === null) return { refused: 'The request target is neither a path nor an http or https URL with a host.' };
  const authority = match[1] as string;
  if (authority.includes('@')) return { refused: 'The request target carries userinfo (user@host), which an http or https URL must not.' };
  if (!HOST_VALUE.test(authority)) return { refused: "The request target's authority is not a host and port." };
  if (authority === '' || authority.startsWith(':')) return { refused: 'The request target is an absolute URL without a host.' };
  const rest = url.slice(match[0].length);
  return { path: rest.startsWith('/') ? rest : `/${rest}` };
}

/**
 * A request target in absolute form (`GET http://host/docs`, which RFC 9112, 3.2.2, has a server
 * accept) is read as its path and query: the routes, the docs page's own headers, its file server
 * and the cached front all look at the path, and the docs page came with the API's headers (and no
 * scripts) while its files were 404s. The Host line is still checked, as HTTP/1.1 asks of a client.
 * A target it cannot read stays as it came, and why is returned, for `refusedTarget`. The asterisk
 * form is left to Fastify for OPTIONS (`OPTIONS *`) and refused for any other method.
 */
function toOriginForm(request: IncomingMessage): string | undefined {
  const url = request.url;
  if (url === undefined || url.startsWith('/')) return undefined;
  // The asterisk form is for OPTIONS alone (RFC 9112, 3.2.4).
  if (url === '*') return request.method === 'OPTIONS' ? undefined : `The request target * is for OPTIONS alone, not ${request.method}.`;
  const read = readAbsoluteForm(url);
  if ('refused' in read) return read.refused;
  request.url = read.path;
  return undefined;
}

/**
 * Answers 400 to a request target `toOriginForm` could not read as a path (`why` it could not): an
 * http(s) URL without a host or with userinfo, or a URL of another scheme. Fastify took the first for
 * broken percent-encoding and routed the others as paths, and each echoed the target as the
 * problem's `instance`, which is a path; this problem has none. True when it answered.
 */
function refusedTarget(response: ServerResponse, why: string | undefined, linger: Lingering): boolean {
  if (why === undefined) return false;
  answerEarly(response, linger, 400, 'bad-url', why);
  return true;
}

/** A request on a connection in a lingering close: read and dropped, never answered or run. */
function dropped(request: IncomingMessage): boolean {
  if (!isLingering(request.socket)) return false;
  request.resume();
  return true;
}

/**
 * Writes an early problem to a socket by hand, with the Date Node adds to every response it writes.
 * The answer to a HEAD carries the headers alone (RFC 9110, 9.3.2), its Content-Length the body's.
 */
function writeRaw(
  socket: Duplex,
  status: number,
  problem: ReturnType<typeof earlyProblem>,
  extraHeaders: Record<string, string> = {},
  toHead = false,
) {
  const { title, headers, body } = problem;
  const head = Object.entries({ ...headers, date: new Date().toUTCString(), ...extraHeaders }).map(
    ([name, value]) => `${name}: ${value}\r\n`,
  );
  socket.write(`HTTP/1.1 ${status} ${title}\r\n${head.join('')}\r\n${toHead ? '' : body}`);
}

/** The response Node is writing on a connection, if any: the first of those its pipelined requests await. */
type HttpSocket = Duplex & { _httpMessage?: (ServerResponse & { req?: IncomingMessage }) | null };

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (not HTTP, a URL or headers too large, too
 * slow to arrive), answered as problems with the API's headers like every other error, and the
 * connection closed. Fastify's default answers them in plain JSON without those headers. Their
 * Origin is unknown (the headers were not read): `corsHeaders` are added when they are the same for
 * every origin (CORS_ORIGINS `*`), so that a page can still read the problem.
 *
 * A request that breaks or times out behind others on the same connection (pipelined) is answered
 * after theirs, in order, as RFC 9112 (9.3.2) asks: answered at once, its problem came first and the
 * connection closed under the others, so a client was told "bad request" about a submission that was
 * stored. Bytes after a request that asked to close the connection are ignored (9.6): its answer
 * ends it.
 */
export function clientErrorAnswer(corsHeaders: Record<string, string> = {}) {
  const answered = new WeakSet<Duplex>();
  return (error: ParserError, socket: Duplex): void => {
    // Node's parser reports the same error again for every later chunk of the connection.
    if (error.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
    answered.add(socket);
    const line = refusedRequestLine(error);
    const answer = () => {
      if (error.code !== 'HPE_CLOSED_CONNECTION' && socket.writable)
        writeRaw(socket, status, earlyProblem(status, code, detail), corsHeaders, isHead(line));
      socket.destroy(error.code === 'HPE_CLOSED_CONNECTION' ? undefined : error);
    };
    const [status, code, detail]: [number, ProblemCode, string] =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request-timeout', 'The request did not arrive within the request timeout.']
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? overflowedInUrl(line)
            ? [414, 'uri-too-long', "The request's URL is longer than the server accepts."]
            : [431, 'headers-too-large', 'The request headers are larger than the server accepts.']
          : (versionAnswer(error) ??
            unknownMethodAnswer(error, socket) ?? [400, 'malformed-request', 'The request is not valid HTTP/1.1.']);
    afterPendingResponses(socket, answer);
  };
}

const UNKNOWN_VERSION = 'Invalid HTTP version';
const CR = 0x0d;
const LF = 0x0a;
/** A version's last three bytes: the parser refuses one only once it has read `HTTP/`, a digit, `.` and a digit. */
const VERSION_DIGITS = /^([0-9])\.([0-9])$/;
/** HTTP/2's connection preface (RFC 9113, 3.4), which the parser reads as a request with the method PRI. */
const HTTP2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

/**
 * What to answer a request in a version Node's parser refuses to read: HTTP/2's preface and a
 * version of another major (`HTTP/3.0`) are a 505; a later HTTP/1 minor (`HTTP/1.2`), which RFC 9112
 * (2.6) would have read as 1.1 but the parser refuses, stays a 400 that names it. The parser stops
 * right after the version's last digit, in the chunk it was reading: a version whose digits began in
 * an earlier chunk is not named, nor one followed by more than the line's end (`HTTP/3.05`). The
 * parser pauses on any PRI request, not only the preface: another (`PRI * HTTP/1.1`) is a method the
 * API does not implement.
 */
function versionAnswer(error: ParserError): [number, ProblemCode, string] | undefined {
  const { rawPacket: chunk, bytesParsed } = error;
  if (!Buffer.isBuffer(chunk) || typeof bytesParsed !== 'number') return undefined;
  if (error.code === 'HPE_PAUSED_H2_UPGRADE') {
    const preface = chunk.toString('latin1', Math.max(0, bytesParsed - HTTP2_PREFACE.length), bytesParsed) === HTTP2_PREFACE;
    return preface ? versionProblem('opens HTTP/2 with its preface (PRI * HTTP/2.0)') : unknownMethodProblem('PRI');
  }
  if (error.code !== 'HPE_INVALID_VERSION' || error.reason !== UNKNOWN_VERSION) return undefined;
  const next = chunk[bytesParsed];
  if (next !== undefined && next !== CR && next !== LF) return undefined;
  const sent = bytesParsed >= 3 ? VERSION_DIGITS.exec(chunk.toString('latin1', bytesParsed - 3, bytesParsed)) : null;
  if (sent === null) return undefined;
  const [, major, minor] = sent;
  const problem = versionProblem(`is HTTP/${major}.${minor}`);
  // HTTP/1 is spoken: a minor version the parser refuses is malformed, not another version.
  return major === '1' ? [400, 'malformed-request', problem[2]] : problem;
}

/** Whether a byte is one a method may hold: RFC 9110's token characters (letters, digits and a few marks). */
const isTokenByte = (byte: number | undefined) => byte !== undefined && TOKEN_BYTES.has(byte);
/** Where the run of token characters that ends at `end` begins. */
function tokenRunStart(chunk: Buffer, end: number): number {
  let start = end;
  while (start > 0 && isTokenByte(chunk[start - 1])) start -= 1;
  return start;
}
const TOKEN_BYTES = new Set(Buffer.from("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 'latin1'));
const SPACE = 0x20;
const MAX_NAMED_METHOD = 32;
const IMPLEMENTED = 'it takes GET, HEAD, POST, DELETE and OPTIONS (methods are case-sensitive)';
/**
 * Methods Node's parser reads as RTSP ones: it takes each as a method, then refuses it at the version
 * of an HTTP request line, with this reason.
 */
const RTSP_METHODS = [
  'ANNOUNCE',
  'DESCRIBE',
  'FLUSH',
  'GET_PARAMETER',
  'PAUSE',
  'PLAY',
  'RECORD',
  'REDIRECT',
  'SET_PARAMETER',
  'SETUP',
  'TEARDOWN',
] as const;
const RTSP_REFUSAL = 'Invalid method for HTTP/x.x request';
/** Every method Node's parser reads (HTTP's, RTSP's and HTTP/2's preface `PRI`), as the prefixes it takes on the way. */
const PARSED_METHODS = [...METHODS, ...RTSP_METHODS, 'PRI'];
const METHOD_PREFIXES = new Set(
  PARSED_METHODS.flatMap((method) => Array.from({ length: method.length + 1 }, (_, n) => method.slice(0, n))),
);
const LONGEST_PARSED_METHOD = Math.max(...PARSED_METHODS.map((method) => method.length));

type ParserError = NodeJS.ErrnoException & { rawPacket?: unknown; bytesParsed?: unknown; reason?: unknown };

const unknownMethodProblem = (method: string | undefined): [number, ProblemCode, string] => [
  501,
  'not-implemented',
  method === undefined
    ? `The request's method is not one the API implements: ${IMPLEMENTED}.`
    : `The method ${method} is not one the API implements: ${IMPLEMENTED}.`,
];

/**
 * A 501 for a request whose method is well formed but one Node's parser does not know (`FOO`, or
 * `get` in lowercase, since methods are case-sensitive) or reads only for RTSP (`PLAY`): RFC 9110
 * (9.1) answers an unrecognised method 501, and only bytes that are no method at all (a TLS
 * handshake sent to the HTTP port) are a 400. Methods Node knows but no route takes (`PROPFIND`)
 * reach the router, which answers 405.
 *
 * The parser stops inside the method, in the chunk it was reading: the method is the run of token
 * characters around that point, followed by a space, or running on past the chunk's end (its rest
 * still to come). It is named only where its start is certain (methodStart).
 */
function unknownMethodAnswer(error: ParserError, socket: Duplex): [number, ProblemCode, string] | undefined {
  const { rawPacket: chunk, bytesParsed } = error;
  if (!Buffer.isBuffer(chunk) || typeof bytesParsed !== 'number') return undefined;
  if (error.code === 'HPE_INVALID_CONSTANT' && error.reason === RTSP_REFUSAL) return unknownMethodProblem(rtspMethod(chunk, bytesParsed));
  if (error.code !== 'HPE_INVALID_METHOD') return undefined;
  const at = Math.min(bytesParsed, chunk.length);
  const runStart = tokenRunStart(chunk, at);
  let end = at;
  while (end < chunk.length && isTokenByte(chunk[end])) end += 1;
  const runsOn = end === chunk.length;
  if (end === runStart || (!runsOn && chunk[end] !== SPACE)) return undefined;
  const start = runsOn ? undefined : methodStart(chunk, at, (socket as Socket).bytesRead === chunk.length);
  const named = start !== undefined && end - start <= MAX_NAMED_METHOD;
  return unknownMethodProblem(named ? chunk.toString('latin1', start, end) : undefined);
}

/**
 * Where the method the parser stopped in starts, when that is certain. The parser reads a method
 * byte by byte while what it has read begins one it knows, so it began at a point `start` from which
 * the bytes up to where it stopped begin a method it knows, and that byte added would not. A body or
 * head before the method may end in bytes that fit as well (`PU` before a method `X`: the parser
 * could have begun at the `P` or at the `X`), so the start is certain only where one point fits;
 * where the bytes that fit reach back to the chunk's start, the method may have begun in the chunk
 * before, unless this chunk is the connection's first.
 */
function methodStart(chunk: Buffer, at: number, firstRead: boolean): number | undefined {
  const stoppedAt = at < chunk.length ? chunk.toString('latin1', at, at + 1) : '';
  const fits: number[] = [];
  for (let start = at; ; start -= 1) {
    const read = chunk.toString('latin1', start, at);
    if (METHOD_PREFIXES.has(read) && !METHOD_PREFIXES.has(read + stoppedAt)) fits.push(start);
    if (start === 0) return firstRead && fits.at(-1) === 0 ? 0 : undefined;
    if (!isTokenByte(chunk[start - 1]) || at - start >= LONGEST_PARSED_METHOD) break;
  }
  return fits.length === 1 ? fits[0] : undefined;
}

/**
 * The RTSP method of a request line Node's parser refused at its version (`PLAY / HTTP/1.1`): the
 * parser stopped after `HTTP`, and the method is the RTSP one that ends the run of token characters
 * two spaces before (no RTSP method ends another, so at most one does). A line that began in an
 * earlier chunk may hold only the method's end here: it is named only when whole.
 */
function rtspMethod(chunk: Buffer, bytesParsed: number): string | undefined {
  const version = bytesParsed - ' HTTP'.length;
  if (version < 1 || bytesParsed > chunk.length || chunk.toString('latin1', version, bytesParsed) !== ' HTTP') return undefined;
  // (A negative offset would count from the chunk's end.)
  const beforeTarget = chunk.lastIndexOf(SPACE, version - 1);
  if (beforeTarget < 0) return undefined;
  const run = chunk.toString('latin1', tokenRunStart(chunk, beforeTarget), beforeTarget);
  return RTSP_METHODS.find((method) => run.endsWith(method));
}

/** A request line's start: a method, one space and a target (a path, an absolute URL or `*`). */
const REQUEST_LINE_START = /^[A-Z]+ (?:\/|[a-z][a-z0-9+.-]*:|\*)/i;
/** A request line at least this long is most of the 16 KiB a head may take: its URL is what to shorten. */
const LONG_REQUEST_LINE = 8 * 1024;

/**
 * Whether a request's head went past the size limit because of its URL: the chunk Node's parser was
 * reading when it stopped holds the start of that request's head, and its request line (to its CRLF,
 * or all the chunk holds of it) is 8 KiB or more. Node reports the overflow in the chunk that took
 * the head past the limit, and a head written at once (as clients write one) arrives in one chunk on
 * a local network; a head whose request line began in an earlier chunk, or one whose header lines
 * are what is long, is a 431. Behind a request with a body in the same chunk, the head starts where
 * that body ends, which only its own head's framing tells: the first request line's start after
 * the empty line is taken for it. A body holding text like one (`see /docs`) is then measured from
 * there, with the request line after it: a long URL is still a 414, and only a body of 8 KiB or more
 * without a line break after that text would make a long header line a 414 too.
 */
function overflowedInUrl(line: RequestLine | undefined): boolean {
  if (line === undefined) return false;
  const end = line.chunk.indexOf('\r\n', line.start);
  return (end < 0 ? line.chunk.length : end) - line.start >= LONG_REQUEST_LINE;
}

/** A request line's start in a chunk Node's parser read. */
type RequestLine = { chunk: Buffer; start: number };

/**
 * Where the request line of the head Node's parser refused begins in the chunk it was reading: after
 * the last empty line before where it stopped (pipelined requests before it), or at the chunk's start.
 * Undefined where the chunk holds no request line start there (the line began in an earlier chunk,
 * or the bytes are no request line).
 */
function refusedRequestLine(error: ParserError): RequestLine | undefined {
  const { rawPacket: chunk, bytesParsed } = error;
  if (!Buffer.isBuffer(chunk) || typeof bytesParsed !== 'number') return undefined;
  // A head found too large as it ends stops the parser inside its own empty line, which a request
  // line and a CRLF (16 bytes at least) keep well clear of the one before it: the search starts 8
  // bytes back. Any other fault stops it before its head's empty line, which may be a few bytes after
  // the one before it (`XX` after a request): the search starts at the byte before.
  // (A negative offset would count from the chunk's end.)
  const backOff = error.code === 'HPE_HEADER_OVERFLOW' ? 8 : 1;
  const before = bytesParsed < backOff ? -1 : chunk.lastIndexOf('\r\n\r\n', bytesParsed - backOff);
  const start = before < 0 ? (isRequestLineStart(chunk, 0) ? 0 : undefined) : requestLineAfter(chunk, before + 4, bytesParsed);
  return start === undefined ? undefined : { chunk, start };
}

/**
 * Whether the request Node's parser refused is a HEAD, whose answer has no body, from its request
 * line (refusedRequestLine); a request that timed out carries no bytes to tell, and is answered
 * with the body.
 */
const isHead = (line: RequestLine | undefined) =>
  line !== undefined && line.chunk.toString('latin1', line.start, line.start + 5) === 'HEAD ';

const isRequestLineStart = (chunk: Buffer, at: number) => REQUEST_LINE_START.test(chunk.toString('latin1', at, at + 16));
const isLetter = (byte: number | undefined) => byte !== undefined && ((byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a));

/**
 * The first request line's start from `from` on, before `until`: letters (from `from` or after a
 * byte that is none), a space and a target. Found space by space, so that a body of letters is
 * walked once, not once per byte.
 */
function requestLineAfter(chunk: Buffer, from: number, until: number): number | undefined {
  for (let space = chunk.indexOf(SPACE, from); space >= 0 && space < until; space = chunk.indexOf(SPACE, space + 1)) {
    let start = space;
    while (start > from && isLetter(chunk[start - 1])) start -= 1;
    if (start < space && isRequestLineStart(chunk, start)) return start;
  }
  return undefined;
}

/**
 * Runs `then` once the responses owed on the connection to the requests before the one at fault are
 * written: Node gives the socket to each in turn as the one before it emits 'finish' (its bytes
 * handed to the system), so the wait follows the socket from one to the next. (`writableFinished` is
 * no test: a response ended before it had the socket reads finished once its bytes are queued.) It
 * stops at a response whose request is still arriving: that request is the one whose body broke or
 * timed out, and its own answer can never come. If that answer has begun, a problem is not
 * interleaved with it: the connection is only closed.
 */
function afterPendingResponses(socket: HttpSocket, then: () => void) {
  const pending = socket._httpMessage;
  if (pending === undefined || pending === null || socket.destroyed) return then();
  if (pending.req?.complete === false) {
    if (pending.headersSent) socket.destroy();
    else then();
    return;
  }
  pending.once('finish', () => afterPendingResponses(socket, then));
  pending.once('close', () => {
    if (!pending.writableFinished) socket.destroy();
  });
}

/** How often a closing server looks again at its connections. */
const CLOSING_POLL_MS = 20;

/** What a closing server waits for on its connections before it stops listening. */
export type ClosingWait = {
  /** How long the server waited, in ms. */
  waitedMs: number;
  /** Connections whose responses were still unsent when `drainMs` ran out: cut short by closing. */
  cut: number;
};

/**
 * What a server about to close waits for on its connections, so that closing loses no answer:
 *
 * - Responses its sockets have not finished writing. Closing the server ends every connection
 *   without a request in progress, and Node counts a response as done once it is handed to the
 *   socket, not once the socket has written it: a large body to a client that reads slowly (a batch
 *   answer) would be cut short, its assessments stored and their ids never received. This wait ends
 *   after `drainMs` whatever is left, so that closing always ends.
 * - Keep-alive connections, for up to `lastCallMs`. A client that pools connections sends its next
 *   request on one at any moment: closed at once, the connection would be reset under a request
 *   already on its way, which its client could not tell from one that was stored. Kept open a little
 *   longer, such a request is read and refused (503 `shutting-down` with `Connection: close`, from
 *   the protection plugin), and the client closes. The wait ends early once no connection is open;
 *   what is still idle at its end is closed with the server.
 */
export function closingConnections(server: Server): (waits: { drainMs: number; lastCallMs: number }) => Promise<ClosingWait> {
  const connections = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  const open = () => [...connections].filter((socket) => !socket.destroyed);
  const unsent = () => open().filter((socket) => socket.writableLength > 0);
  return async ({ drainMs, lastCallMs }) => {
    // A connection in a lingering close has written its answer: nothing of it is waited for.
    for (const socket of open()) if (isLingering(socket) && socket.writableEnded) socket.destroy();
    const started = performance.now();
    const waiting = () => {
      const waited = performance.now() - started;
      return (waited < drainMs && unsent().length > 0) || (waited < lastCallMs && open().length > 0);
    };
    while (waiting()) await sleep(CLOSING_POLL_MS);
    return { waitedMs: Math.round(performance.now() - started), cut: unsent().length };
  };
}

/** How long a connection answered before its request's body arrived goes on reading that body. */
export const LINGER_MS = 2000;

const LINGERING = Symbol('lingering');
type LingeringSocket = Socket & { [LINGERING]?: true };
const isLingering = (socket: Duplex | null) => (socket as LingeringSocket | null)?.[LINGERING] === true;

/**
 * Closes the connection of a request answered before its body arrived the way a careful server
 * does (a lingering close): once the answer is written the server sends its FIN, then goes on
 * reading and dropping whatever the client still sends, until the client closes or LINGER_MS pass.
 * Closed at once with bytes unread, the connection is reset by the kernel, and a client still
 * writing its body (Python's urllib always, Node's fetch at times, for a 4 MB body) reports a broken
 * pipe instead of reading the 413 or 404 it was sent. A request that follows on the connection is
 * read and dropped too, never run (`answerFirst`): the connection is closing, and its client has been
 * told so (RFC 9112, 9.6). Node calls `destroySoon` once the answer is written.
 */
export function lingerOnClose(request: IncomingMessage, lingerMs = LINGER_MS): void {
  const socket = request.socket as LingeringSocket;
  socket[LINGERING] = true;
  // With no time to linger, Node's own close (once the answer is written) stays.
  if (lingerMs > 0)
    socket.destroySoon = () => {
      socket.end();
      const timer = setTimeout(() => socket.destroy(), lingerMs);
      socket.once('close', () => clearTimeout(timer));
    };
  // The body is read and dropped from here on, whoever stopped reading it.
  request.resume();
}

/** Node's test for a request that waits for `100 Continue` before it sends its body. */
const EXPECTS_CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

/** Methods whose bodies no route reads: an OPTIONS that is not a preflight is answered as not found. */
const BODILESS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A preParsing hook: tells a client waiting for `100 Continue` to send its body, now that a route
 * will read it, unless its Content-Length is over the route's limit (Fastify then answers 413 without
 * reading, and closes the connection) or it is not JSON (Fastify answers 415 without reading). The
 * not-found handler (404, 405) never needs the body, and no route reads the body of a GET, HEAD or
 * OPTIONS (the cached front answers such a GET with no 100 either). An HTTP/1.0 client is sent no
 * 100 at all, and its expectation is ignored (RFC 9110, 10.1.1 and 15.2).
 */
export const continueBeforeBody: preParsingHookHandler = (request, reply, payload, done) => {
  const { expect } = request.headers;
  if (
    expect !== undefined &&
    !request.is404 &&
    !BODILESS.has(request.method) &&
    EXPECTS_CONTINUE.test(expect) &&
    request.raw.httpVersionMinor >= 1 &&
    namesJson(request.headers['content-type']) &&
    !reply.raw.headersSent
  ) {
    const length = Number(request.headers['content-length']);
    if (length > request.routeOptions.bodyLimit) return done(null, payload);
    // Headers the route refuses (a malformed Idempotency-Key) were refused already, by refuseOnHeaders.
    reply.raw.writeContinue();
  }
  done(null, payload);
};

/**
 * File descriptors kept back from connections: the database, its `-wal` and `-shm` (and the
 * checkpoint worker's own), standard streams, log files and Node's own.
 */
export const RESERVED_FILE_DESCRIPTORS = 128;

/** The soft limit on this process's open files, read from Linux's /proc/self/limits; undefined elsewhere or when unlimited. */
export function openFileLimit(limits: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = limits();
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\d+)\s/m.exec(text)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

/**
 * The connections the server takes at once, kept under the open-file limit: at the limit, idle
 * connections that never finish their headers (cheap to hold open by the thousand) left the process no
 * descriptor for anything else, and the load monitor's memory sample, which reads a file, threw
 * EMFILE outside any request and ended the process. Node closes a connection over the limit as it
 * accepts it.
 */
export function connectionLimit(openFiles: number | undefined): number | undefined {
  return openFiles === undefined ? undefined : Math.max(16, openFiles - RESERVED_FILE_DESCRIPTORS);
}
