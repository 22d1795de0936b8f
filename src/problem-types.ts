import { STATUS_CODES } from 'node:http';

/**
 * Every kind of problem the API answers with, by code. A problem's `type` is `/problems/{code}`,
 * and that URL serves the entry below, so that a developer who meets one can look it up. The
 * codes are the only ones an error can carry: the compiler holds every error to this list.
 */
export const PROBLEM_TYPES = {
  'validation-error': {
    status: 400,
    title: 'Bad Request',
    description:
      'A parameter, header or body field is malformed (a wrong type, a value out of range, an unknown field or query parameter). `errors` lists each one with its field and what is wrong.',
  },
  'malformed-body': {
    status: 400,
    title: 'Bad Request',
    description: 'The body is not JSON, is empty, or is not valid UTF-8. Send one JSON document encoded in UTF-8.',
  },
  'forbidden-key': {
    status: 400,
    title: 'Bad Request',
    description: 'The JSON has a `__proto__` key, or a `constructor` object with a `prototype` key. No field of the API has these names.',
  },
  'invalid-content-length': {
    status: 400,
    title: 'Bad Request',
    description: 'The Content-Length header does not match the body that arrived.',
  },
  'bad-url': {
    status: 400,
    title: 'Bad Request',
    description:
      'The URL has broken percent-encoding or a path segment too long to route, or the request target is not a path (an absolute URL without a host, with userinfo, or of a scheme other than http or https; `*` with a method other than OPTIONS).',
  },
  'bad-host': {
    status: 400,
    title: 'Bad Request',
    description: 'An HTTP/1.1 request must carry exactly one Host header, and its value must be a host with an optional port.',
  },
  'malformed-request': {
    status: 400,
    title: 'Bad Request',
    description: 'The request is not valid HTTP/1.1, so it could not be read; the connection is closed.',
  },
  'bad-request': {
    status: null,
    title: 'Client Error',
    description: 'A request the HTTP framework refused for a reason of its own; `status` and `detail` say which.',
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    description:
      'The path is refused as it stands: under `/docs`, one with a `..` segment (between `/` or `\\` separators, percent-encoded or not), which could name a file outside the documentation.',
  },
  'not-found': {
    status: 404,
    title: 'Not Found',
    description:
      'No route matches, or a slug or id names nothing the API has. `errors` names each unknown value, so that all of them can be corrected at once.',
  },
  'method-not-allowed': {
    status: 405,
    title: 'Method Not Allowed',
    description: 'The path exists, but not for this method. The Allow header names the methods it takes.',
  },
  'request-timeout': {
    status: 408,
    title: 'Request Timeout',
    description: 'The whole request did not arrive within the request timeout (`REQUEST_TIMEOUT_MS`); the connection is closed.',
  },
  'assessment-erased': {
    status: 410,
    title: 'Gone',
    description:
      'The assessment was stored once and has since been erased with `DELETE /v1/assessments/{id}`: nothing of it is kept but its id and the time of its erasure. A replayed Idempotency-Key whose answer carried it gives this problem in its place.',
  },
  'precondition-failed': {
    status: 412,
    title: 'Precondition Failed',
    description:
      'The request’s If-Match names no entity tag of the representation it would get (compared strongly: a weak tag never matches), so the resource has changed since that tag was read. A stored assessment carries no entity tag: only `If-Match: *` matches it. A submission makes a new assessment, which nothing matches: a POST with If-Match is refused and nothing is stored. A documentation file is refused the same way when it fails If-Match or If-Unmodified-Since.',
  },
  'payload-too-large': {
    status: 413,
    title: 'Content Too Large',
    description: 'The body is larger than the route accepts (`BODY_LIMIT`, or `BATCH_BODY_LIMIT` for a batch).',
  },
  'uri-too-long': {
    status: 414,
    title: 'URI Too Long',
    description:
      'The request line is longer than the server accepts: the request line and the headers together may take 16 KiB. Send a shorter URL (fewer or shorter query parameters); the connection is closed.',
  },
  'unsupported-media-type': {
    status: 415,
    title: 'Unsupported Media Type',
    description: 'Bodies are `application/json`; another Content-Type is refused.',
  },
  'unsupported-content-encoding': {
    status: 415,
    title: 'Unsupported Media Type',
    description:
      'The body was sent with a Content-Encoding (gzip, for example); send it uncompressed. Accept-Encoding names the one coding read: identity.',
  },
  'unsupported-charset': {
    status: 415,
    title: 'Unsupported Media Type',
    description: 'The Content-Type names a charset other than UTF-8, an empty one or more than one; send the JSON in UTF-8.',
  },
  'range-not-satisfiable': {
    status: 416,
    title: 'Range Not Satisfiable',
    description:
      'A Range request for one of the documentation page’s files asks for bytes past its end. Content-Range gives the file’s length.',
  },
  'expectation-failed': {
    status: 417,
    title: 'Expectation Failed',
    description: 'The request carries an Expect header other than `100-continue`, the only one the server meets.',
  },
  'unscorable-submission': {
    status: 422,
    title: 'Unprocessable Content',
    description:
      'The submission is well-formed but cannot be scored: an unknown question or company size, a question answered twice, or fewer answers than the minimum. `errors` lists each problem.',
  },
  'idempotency-key-reused': {
    status: 422,
    title: 'Unprocessable Content',
    description: 'This Idempotency-Key was already used with a different body on this route. Use a new key for a new submission.',
  },
  'rate-limited': {
    status: 429,
    title: 'Too Many Requests',
    description: 'The client has sent more write requests than its budget for the window allows. Retry after the seconds in Retry-After.',
  },
  'too-many-batches': {
    status: 429,
    title: 'Too Many Requests',
    description:
      'This client already has as many batches under way as one client may (all of MAX_CONCURRENT_BATCHES but one, or the one place when it is 1), their answers read or not. One ends once its answer has been read; retry after the seconds in Retry-After.',
  },
  'headers-too-large': {
    status: 431,
    title: 'Request Header Fields Too Large',
    description: 'The request headers are larger than the server accepts; the connection is closed.',
  },
  'internal-error': {
    status: 500,
    title: 'Internal Server Error',
    description:
      'Something failed on the server. Nothing about it is disclosed; quote the `requestId` when reporting it, as the server logged it with that id.',
  },
  'not-implemented': {
    status: 501,
    title: 'Not Implemented',
    description:
      'The request asks for something the server does not do: a body in a transfer coding other than chunked (`Transfer-Encoding: gzip, chunked`), a tunnel (CONNECT), or a method it does not know (`FOO`, or `get`: methods are case-sensitive) or knows only for RTSP (`PLAY`, `SETUP`). The connection is closed.',
  },
  overloaded: {
    status: 503,
    title: 'Service Unavailable',
    description:
      'The server is shedding load (its event loop is delayed), or is already scoring as many batches as it scores at once (MAX_CONCURRENT_BATCHES). Retry after the seconds in Retry-After.',
  },
  'storage-unavailable': {
    status: 503,
    title: 'Service Unavailable',
    description:
      'The database could not be written or read: its disk is full, its file failed to read or write or was found damaged, or another process held its write lock too long. Nothing this answer would have acknowledged was stored. Retry after the seconds in Retry-After, with the same Idempotency-Key so that nothing is stored twice.',
  },
  'shutting-down': {
    status: 503,
    title: 'Service Unavailable',
    description: 'The server is shutting down and closes this connection. Retry on a new connection after the seconds in Retry-After.',
  },
  'http-version-not-supported': {
    status: 505,
    title: 'HTTP Version Not Supported',
    description:
      'The request is in a major version of HTTP the server does not speak: a request line in any HTTP/x.y but 1.x (`HTTP/2.0`, `HTTP/3.0`) or without a version (HTTP/0.9), or the HTTP/2 preface (`PRI * HTTP/2.0`, HTTP/2 with prior knowledge). Send HTTP/1.1; HTTP/1.0 is read too. The connection is closed.',
  },
  'insufficient-storage': {
    status: 507,
    title: 'Insufficient Storage',
    description:
      'The server has no room to store what the request would: its database would hold more than the server allows (DATABASE_MAX_MB), or the disk under it would go into the space the server keeps free (DISK_RESERVE_MB). Nothing of the request was stored and its Idempotency-Key was not kept, so the same request can be sent again once there is room (erasing stored assessments makes some), and a large batch as smaller ones.',
  },
} as const satisfies Record<string, { status: number | null; title: string; description: string }>;

export type ProblemCode = keyof typeof PROBLEM_TYPES;

/** Every kind by its code: what `/problems/{code}` looks a code up in, and tells a misspelt one from. */
export const PROBLEM_TYPES_BY_CODE: ReadonlyMap<string, (typeof PROBLEM_TYPES)[ProblemCode]> = new Map(Object.entries(PROBLEM_TYPES));

/**
 * A problem's title: its kind's, or the status's reason phrase for the kind whose status varies. A
 * status other than its kind's is a fault in the code that raised it (its type and title would
 * describe another status): it is thrown, so that it surfaces as a 500 and in the tests.
 */
export function problemTitle(code: ProblemCode, status: number): string {
  const kind: { status: number | null; title: string } = PROBLEM_TYPES[code];
  if (kind.status === null) return STATUS_CODES[status] ?? kind.title;
  if (kind.status !== status) throw new Error(`problem ${code} is catalogued with status ${kind.status}, raised with ${status}`);
  return kind.title;
}

/** A problem's `type`: where its description is served. */
export const problemType = (code: ProblemCode) => `/problems/${code}`;
