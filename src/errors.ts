import type { FastifyRequest } from 'fastify';
import { didYouMean, meantName } from './names.js';
import { PROBLEM_TYPES, type ProblemCode, problemTitle, problemType } from './problem-types.js';
import { LONE_SURROGATE } from './schemas/assessment.js';
import { NOT_A_SLUG } from './schemas/common.js';
import type { ProblemBody } from './schemas/problem.js';

/** A field-level validation problem, as listed in a problem+json `errors` array. */
export type FieldProblem = { field: string; message: string };

/** The most characters of a name or value sent that a problem quotes. */
const MAX_QUOTED = 64;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'gu');

/**
 * Text a client sent, as a problem quotes it: its first 64 characters, cut between code points (an
 * ellipsis marks the cut), with a lone surrogate as U+FFFD, so that the problem is well-formed
 * Unicode (strict JSON readers refuse a lone surrogate) and short, however the text was written.
 */
export function quoted(text: string): string {
  if (text.length <= MAX_QUOTED && !LONE_SURROGATE.test(text)) return text;
  const characters = Array.from(text);
  const cut = characters.length > MAX_QUOTED ? `${characters.slice(0, MAX_QUOTED).join('')}…` : text;
  return cut.replace(LONE_SURROGATES, '\uFFFD');
}

/** A key a field's name gives after a dot: a name, with hyphens; any other is given in brackets. */
const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/**
 * The name of a field in a problem: `body.answers[2].value`, `querystring.roles[1]`, `[3].level`.
 * A key that is not a plain name (empty, or with a space, a dot or a quote: `?a.b=1`) is written in
 * brackets as a JSON string (`querystring["a.b"]`, `querystring[""]`), so that the name reads as one
 * key; a key the client made up is first cut as `quoted` has it.
 */
export function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === 'number') return `${out}[${part}]`;
    const key = quoted(String(part));
    if (!PLAIN_KEY.test(key)) return `${out}[${JSON.stringify(key)}]`;
    return out === '' ? key : `${out}.${key}`;
  }, prefix);
}

/** What a problem says of itself; its type and title follow from its code (see problem-types.ts). */
export type ProblemFields = Omit<ProblemBody, 'type' | 'title' | 'instance' | 'requestId' | 'code'> & { code: ProblemCode };

/**
 * The most field problems one problem lists. A request can have a problem per unknown field or
 * parameter, and a small request could otherwise get a far larger answer (a batch item's problem is
 * also kept for replay under an Idempotency-Key).
 */
export const MAX_LISTED_PROBLEMS = 50;

/** A problem's `instance`: the request's path, cut at 200 characters so a long made-up one is not echoed whole. */
export const problemInstance = (url: string) => (url.split('?')[0] ?? url).slice(0, 200);

/**
 * A path as a relative reference: one that starts with `//` would be read as a host and a path
 * (`//v1/roles`: host `v1`), as would one that starts with `/\` where a backslash is read as a slash
 * (browsers, Node's URL); so it gets a `/.` in front, which resolving takes off again.
 */
const instanceReference = (path: string) => (/^\/[/\\]/.test(path) ? `/.${path}` : path);

/**
 * The RFC 9457 body for a problem met while serving a request: one Fastify routed, or one answered
 * before routing (which has no path when Node could not parse it).
 */
export function problemBody(request: Pick<FastifyRequest, 'id'> & { url: string | undefined }, problem: ProblemFields): ProblemBody {
  const { errors } = problem;
  const cut = errors !== undefined && errors.length > MAX_LISTED_PROBLEMS;
  return {
    type: problemType(problem.code),
    title: problemTitle(problem.code, problem.status),
    status: problem.status,
    detail: cut ? `${problem.detail} The first ${MAX_LISTED_PROBLEMS} of ${errors.length} problems are listed.` : problem.detail,
    // A target that is not a path (`*`, or one refused before it could be read as one) has none.
    instance: request.url?.startsWith('/') ? instanceReference(problemInstance(request.url)) : undefined,
    code: problem.code,
    requestId: request.id,
    ...(errors ? { errors: cut ? errors.slice(0, MAX_LISTED_PROBLEMS) : errors } : {}),
  };
}

/** The problem codes whose kind has the status `S`. */
type CodeWithStatus<S extends number> = { [K in ProblemCode]: (typeof PROBLEM_TYPES)[K]['status'] extends S ? K : never }[ProblemCode];
/** The problem codes whose status is fixed by their kind (all but `bad-request`). */
type FixedStatusCode = CodeWithStatus<number>;

/**
 * An error the API answers with on purpose; the error handler maps it to problem+json. Its status
 * is its kind's, from the catalogue in problem-types.ts, so the two cannot disagree.
 */
export class ApiError extends Error {
  /** Headers the problem response carries besides the usual ones. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly status: number;

  constructor(
    readonly code: FixedStatusCode,
    readonly detail: string,
    readonly errors?: FieldProblem[],
  ) {
    super(detail);
    this.status = PROBLEM_TYPES[code].status;
  }
}

/**
 * A value of a request that names nothing the API has: what kind of thing, the value, its field, and
 * the values there are when they are few enough to list (`known`).
 */
export type UnknownValue = { what: string; value: string; field: string; known?: readonly string[]; meant?: string };

/** The most values a problem lists for a field: a company size or a role is told its choices, a competency is not (22). */
const MAX_LISTED_VALUES = 10;

/**
 * An unknown value of a request, with the keys of the index it was looked up in when they are few
 * enough to list, or else the one it was likely meant as (`hirng`: `hiring`), when there is one.
 */
export function unknownValue(index: ReadonlyMap<string, unknown>, what: string, value: string, field: string): UnknownValue {
  const values = [...index.keys()];
  if (values.length <= MAX_LISTED_VALUES) return { what, value, field, known: values };
  const meant = meantName(value, values);
  return { what, value, field, ...(meant === undefined ? {} : { meant }) };
}

/**
 * A slug refused for its capitals or its spaces (`Tech-Lead`) that names something in `index` once
 * lowercased and trimmed is told that slug, as a misspelt one is; other messages pass unchanged.
 */
export function slugHint(message: string, value: unknown, index: ReadonlyMap<string, unknown> | undefined): string {
  if (message !== NOT_A_SLUG || typeof value !== 'string' || index === undefined) return message;
  const meant = value.trim().toLowerCase();
  return index.has(meant) ? `${message}${didYouMean(meant)}` : message;
}

/** The field problem for an unknown value: `unknown company size "huge": must be one of: startup, …`. */
export function unknownValueProblem({ what, value, field, known, meant }: UnknownValue): FieldProblem {
  const hint = known !== undefined ? `: must be one of: ${known.join(', ')}` : didYouMean(meant);
  return { field, message: `unknown ${what} "${quoted(value)}"${hint}` };
}

/** One 404 for every unknown value of a request, so that a client can correct them all at once. */
export class NotFoundError extends ApiError {
  constructor(unknown: readonly [UnknownValue, ...UnknownValue[]]) {
    const named = unknown.map(({ what, value }) => `${what} "${quoted(value)}"`);
    const last = named.pop() as string;
    super('not-found', `No ${named.length > 0 ? `${named.join(', ')} or ${last}` : last} exists.`, unknown.map(unknownValueProblem));
  }
}

/** Malformed input: 400. */
export class BadRequestError extends ApiError {
  constructor(detail: string, errors?: FieldProblem[]) {
    super('validation-error', detail, errors);
  }
}

/** Why a submission is refused: its shape is wrong, or it is well-formed but cannot be scored. */
export type SubmissionFault = 'malformed' | 'unscorable';

/** The status of each fault: 400 for a malformed submission, 422 for an unscorable one. */
export const SUBMISSION_STATUS = {
  malformed: PROBLEM_TYPES['validation-error'].status,
  unscorable: PROBLEM_TYPES['unscorable-submission'].status,
} as const satisfies Record<SubmissionFault, number>;

/** A submission that fails its checks. */
export class SubmissionError extends ApiError {
  constructor(fault: SubmissionFault, errors: FieldProblem[]) {
    super(
      fault === 'malformed' ? 'validation-error' : 'unscorable-submission',
      `The submission has ${errors.length} problem${errors.length === 1 ? '' : 's'}.`,
      errors,
    );
  }
}

/** Well-formed input that cannot be accepted: 422. */
export class UnprocessableError extends ApiError {
  constructor(detail: string, errors: FieldProblem[] | undefined, code: CodeWithStatus<422>) {
    super(code, detail, errors);
  }
}

/**
 * A request body sent with a content coding (gzip, br...): bodies are read as sent, so the API
 * answers 415 and names the one coding it reads, as RFC 9110 (section 15.5.16) asks.
 */
export class UnsupportedContentCodingError extends ApiError {
  override readonly headers = { 'accept-encoding': 'identity' };

  constructor() {
    super(
      'unsupported-content-encoding',
      'Request bodies are read without a content coding: send the JSON uncompressed, with no Content-Encoding header.',
    );
  }
}

/** A batch that arrives while as many as the server scores at once are under way. */
export class BatchesBusyError extends ApiError {
  override readonly headers = { 'retry-after': '1' };

  constructor(limit: number) {
    super(
      'overloaded',
      `At most ${limit} batch${limit === 1 ? ' is' : 'es are'} scored at once. Retry after the time given in Retry-After.`,
    );
  }
}

/** A batch refused because its client already holds every place one client may: 429, its own doing, not the server's load. */
export class ClientBatchesError extends ApiError {
  override readonly headers = { 'retry-after': '1' };

  constructor(perClient: number) {
    const one = perClient === 1;
    super(
      'too-many-batches',
      `At most ${perClient} batch${one ? '' : 'es'} of one client ${one ? 'is' : 'are'} under way at once, ${one ? 'its answer' : 'their answers'} read or not. Read the answer of one under way, then retry after the time given in Retry-After.`,
    );
  }
}

/** A stored assessment that was erased: 410. */
export class ErasedError extends ApiError {
  constructor(detail = 'This assessment was erased: nothing of it is kept but its id and the time of its erasure.') {
    super('assessment-erased', detail);
  }
}

/** New assessments refused for want of room (see StorageRoom): 507, nothing stored. */
export class InsufficientStorageError extends ApiError {
  constructor(detail: string) {
    super('insufficient-storage', detail);
  }
}

/** Seconds a client refused for a shutdown is asked to wait before it retries, on a new connection. */
const SHUTDOWN_RETRY_AFTER_S = 5;

/** A request refused, or a submission left unstored, because the server is shutting down: 503, its connection closed. */
export class ShuttingDownError extends ApiError {
  override readonly headers = { connection: 'close', 'retry-after': String(SHUTDOWN_RETRY_AFTER_S) };

  constructor(detail: string) {
    super('shutting-down', detail);
  }
}

/**
 * A JSON body declared in a charset other than UTF-8, which is the only one JSON is read in, or in
 * more than one (`charset=utf-8; charset=latin1`), or in an empty one.
 */
export class UnsupportedCharsetError extends ApiError {
  constructor(charsets: readonly string[]) {
    const [charset = ''] = charsets;
    const named =
      charsets.length > 1
        ? `Content-Type names more than one charset (${charsets.map((c) => `"${quoted(c)}"`).join(', ')})`
        : charset === ''
          ? 'Content-Type names an empty charset'
          : `JSON bodies are read as UTF-8, not ${quoted(charset)}`;
    super('unsupported-charset', `${named}: send UTF-8 (or leave the charset out of Content-Type).`);
  }
}

/** A body whose bytes are not UTF-8: read as text anyway, its characters would be replaced. */
export class NotUtf8Error extends ApiError {
  constructor() {
    super('malformed-body', 'The body is not valid UTF-8: send JSON encoded in UTF-8.');
  }
}

/**
 * A body that is not JSON, told where its first error is: the line and column (from 1, in UTF-16
 * code units as JavaScript counts them) of the character at which the JSON goes wrong, what is there
 * and what JSON needs instead.
 */
export class NotJsonError extends ApiError {
  /** `blank`: the body holds nothing but whitespace (and a byte order mark), so no JSON value at all. */
  constructor(at?: { line: number; column: number; found: string; needs: string } | 'blank') {
    super(
      'malformed-body',
      at === 'blank'
        ? 'The body is blank, whitespace only: this operation takes a JSON body.'
        : at === undefined
          ? 'The body is not valid JSON.'
          : `The body is not valid JSON: it goes wrong at line ${at.line}, column ${at.column}, where ${at.found} and JSON needs ${at.needs}.`,
    );
  }
}

/** JSON that parses but has a key that could change an object's prototype once read. */
export class ForbiddenKeyError extends ApiError {
  constructor() {
    super(
      'forbidden-key',
      'The body has a "__proto__" key, or a "constructor" object with a "prototype" key: no field of the API has these names.',
    );
  }
}
