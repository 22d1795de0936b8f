import type { z } from 'zod';
import { Problem } from './problem.js';

const PROBLEM_DESCRIPTIONS = {
  400: 'Malformed request: `errors` lists every field at fault where the request was read as fields (a body that is not JSON, or has a forbidden member name, has none, but where the route takes no body: any body there is `body`, `must be empty`)',
  404: 'Unknown route or slug',
  408: 'The request did not arrive whole within the request timeout; the connection is closed',
  410: 'Erased: the resource was stored once and has been deleted',
  412: 'A precondition does not hold: `If-Match` names no entity tag of the current representation (`*`: there is none), or `If-None-Match: *` matches the one a DELETE would erase',
  413: 'Body too large',
  414: 'The request line is longer than the server accepts; the connection is closed',
  415: 'Unsupported media type, or a body sent with a content coding (Accept-Encoding then names the one read)',
  417: 'An `Expect` other than `100-continue`',
  422: 'Well-formed but unacceptable: `errors` lists every problem',
  429: 'Too many requests: see Retry-After',
  431: 'Request headers larger than the server accepts; the connection is closed',
  500: 'Unexpected error: quote the requestId',
  501: 'A body in a transfer coding other than chunked; the connection is closed',
  503: 'Overloaded or not ready: see Retry-After',
  505: 'The request is in a major version of HTTP other than 1 (an `HTTP/2.0` request line, the HTTP/2 preface, HTTP/0.9); the connection is closed',
  507: 'No room to store it: the database is at its size limit, or its disk at the reserve kept free',
} as const;

type ProblemStatus = keyof typeof PROBLEM_DESCRIPTIONS;

/**
 * Response headers as the OpenAPI document declares them: a JSON Schema and what they mean, and
 * `required` where every such response carries the header (the document's transform moves it from
 * the schema to the header object, where OpenAPI reads it).
 */
type Headers = Record<string, { type: 'string' | 'integer'; description: string; minimum?: number; enum?: string[]; required?: true }>;

export const json = <S extends z.ZodType>(schema: S, description: string, headers?: Headers) => ({
  description,
  content: { 'application/json': { schema } },
  ...(headers === undefined ? {} : { headers }),
});

/** On every response of the API's routes (not those answered BEFORE_ROUTING); one whose body can be compressed also varies on Accept-Encoding. */
export const VARY: Headers = {
  vary: { type: 'string', description: '`Origin`, with `Accept-Encoding` where the body can be sent compressed' },
};

/** A body sent compressed, in the coding chosen from the request's Accept-Encoding. */
export const CONTENT_ENCODING = (codings: string[], when: string): Headers => ({
  'content-encoding': { type: 'string', enum: codings, description: `Present when the body is compressed: ${when}` },
});

/** The header of a page of a list, on its 200 and on its 304 alike. */
export const PAGE_LINKS: Headers = {
  link: {
    type: 'string',
    description:
      'Links to the other pages (RFC 8288): `first` and `prev` unless this page starts the list, `next` and `last` unless nothing ' +
      "follows it, each a path relative to the request's URL with the same parameters, e.g. " +
      '`</v1/competencies?limit=5&offset=10>; rel="next"`. Absent when the page holds the whole list',
  },
};

/** The headers of a knowledge-base read, on its 200 and on its 304 alike. */
export const CACHED_READ: Headers = {
  etag: { type: 'string', required: true, description: 'Strong entity tag of this representation: send it back in If-None-Match' },
  'cache-control': {
    type: 'string',
    required: true,
    description: 'How long the body may be reused, e.g. `public, max-age=300, stale-while-revalidate=60`',
  },
  ...VARY,
  ...CONTENT_ENCODING(['br', 'gzip'], 'the request accepts one of these codings at least as much as identity'),
};

/** The request header a knowledge-base read answers with 304 when one of its tags is current. */
export const IF_NONE_MATCH = {
  type: 'string',
  description: 'Entity tags already held (a list, weak or strong, or `*`): a current one is answered 304 with no body',
} as const;

/** The request header of a read without entity tags: only `*` means anything there. */
export const IF_NONE_MATCH_ANY = {
  type: 'string',
  description: 'Only `*` counts here (the resource carries no entity tag): answered 304 with no body when the resource exists',
} as const;

/** The request header of a write that must not meet a current representation: only `*` means anything there. */
export const IF_NONE_MATCH_UNLESS = {
  type: 'string',
  description: 'Only `*` counts here: answered 412 while the resource exists, nothing changed',
} as const;

/** The request header of a read with entity tags that makes it conditional on one of them. */
export const IF_MATCH = {
  type: 'string',
  description: 'Entity tags of the representation expected (a list, compared strongly, or `*`): answered 412 when none is current',
} as const;

/** The request header of a read without entity tags: only `*` matches there. */
export const IF_MATCH_ANY = {
  type: 'string',
  description: 'Only `*` matches here (the resource carries no entity tag): any other value is answered 412',
} as const;

/** The request header of a submission: what it makes has no current representation to match. */
export const IF_MATCH_NONE = {
  type: 'string',
  description:
    'Never matches here (what a submission gives is new: no entity tag can name it): any value, `*` included, is answered 412, ' +
    "unless the request's media type, size, JSON, headers or query are refused first",
} as const;

/** A submission's 412, for the If-Match it was sent with. */
export const SUBMISSION_PRECONDITION_FAILED =
  'An `If-Match` was sent, which nothing a submission gives can match: the submission was not checked, scored or stored';

/** The headers of a write that can be replayed for its Idempotency-Key. */
export const REPLAYABLE: Headers = {
  'idempotent-replayed': {
    type: 'string',
    enum: ['true'],
    description: 'Present on a replay: the answer first sent for this Idempotency-Key',
  },
};

const RETRY_AFTER_HEADER = { type: 'integer', minimum: 0, description: 'Seconds to wait before sending the request again' } as const;
export const RETRY_AFTER: Headers = { 'retry-after': RETRY_AFTER_HEADER };

/** On every response: the request's id, also in a problem's `requestId` and in the server's log. */
export const REQUEST_ID: Headers = {
  'x-request-id': { type: 'string', required: true, description: "This request's id (a UUID): quote it when reporting a problem" },
};

/**
 * On the responses of a write while the rate limit is on (RATE_LIMIT_ENABLED): every one the limit has
 * counted, not those answered before it (those answered before routing, and a 503 while the server
 * sheds load, which is why a 503 may come without them).
 */
export const RATE_LIMITED: Headers = {
  'x-ratelimit-limit': { type: 'integer', minimum: 0, description: 'Write requests allowed per window, for this client' },
  'x-ratelimit-remaining': { type: 'integer', minimum: 0, description: 'Write requests left in the current window' },
  'x-ratelimit-reset': { type: 'integer', minimum: 0, description: 'Seconds until the current window ends' },
};

/** On a 415 for a body sent with a content coding: the one coding the server reads. */
const ACCEPT_ENCODING: Headers = {
  'accept-encoding': { type: 'string', enum: ['identity'], description: 'The only content coding a request body may have' },
};

/**
 * The headers of some problems: every 429 and 503 problem says when to come back (/ready's own
 * not-ready answer, which is not a problem, does not); a 415 for a body's coding names the one read.
 */
const COME_BACK: Headers = { 'retry-after': { ...RETRY_AFTER_HEADER, required: true } };
const PROBLEM_HEADERS: Partial<Record<ProblemStatus, Headers>> = { 415: ACCEPT_ENCODING, 429: COME_BACK, 503: COME_BACK };

type ProblemResponse = { description: string; content: { 'application/problem+json': { schema: typeof Problem } }; headers?: Headers };

/** Answered before routing, so without the headers the API's hooks add (Vary among them). */
export const BEFORE_ROUTING: readonly number[] = [408, 414, 417, 431, 501, 505];
/**
 * Problems any request can get, whatever its route: 408, 414, 417, 431, 501 and 505 are answered before
 * routing (the request is incomplete, or it or its headers ask for what the server does not do), 500
 * and 503 (load shedding) by any route.
 */
const ANY_REQUEST = [408, 414, 417, 431, 500, 501, 503, 505] as const;

/** problem+json responses for the given statuses and those of ANY_REQUEST. */
export function problems(...statuses: ProblemStatus[]) {
  const out: Partial<Record<ProblemStatus, ProblemResponse>> = {};
  for (const status of [...statuses, ...ANY_REQUEST]) {
    out[status] = {
      description: PROBLEM_DESCRIPTIONS[status],
      content: { 'application/problem+json': { schema: Problem } },
      ...(PROBLEM_HEADERS[status] === undefined ? {} : { headers: PROBLEM_HEADERS[status] }),
    };
  }
  return out;
}
