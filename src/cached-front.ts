import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ContentCoding, codingFor } from './content-coding.js';

/** Headers of a 200 as Fastify wrote them, without Content-Length; the request id at `idAt`. */
type Template = { headers: string[]; idAt: number };
/** A 200 that Fastify sent, headers and body. */
type Answer = Template & { body: Buffer };
/**
 * Reads under a path prefix, answered per request (a stored assessment): `read` gives the body for
 * the rest of the path, or undefined to leave the request to Fastify; the headers are those of the
 * first 200 Fastify sent under the prefix while the front was open.
 */
type Reads = {
  prefix: string;
  read: (rest: string) => string | Buffer | undefined;
  /** Keeps a Buffer body `read` gave as it is until the function returned is called. */
  hold?: (body: Buffer) => () => void;
  template?: Template;
};

/** A reply about to be sent (Fastify's), read only when its response is kept. */
type Outgoing = { statusCode: number; getHeaders(): Record<string, string | number | string[] | undefined> };

function template(headers: ReturnType<Outgoing['getHeaders']>): Template {
  const flat: string[] = [];
  let idAt = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'content-length') continue;
    if (name === 'x-request-id') idAt = flat.length + 1;
    for (const item of Array.isArray(value) ? value : [value]) flat.push(name, String(item));
  }
  return { headers: flat, idAt };
}

/** The request headers that make an answer depend on more than the URL and the content coding. */
const ROUTED_HEADERS = ['origin', 'if-none-match', 'if-match', 'content-length', 'transfer-encoding'] as const;

/**
 * Repeats cached knowledge-base responses straight from the HTTP server, before Fastify builds a
 * request and a reply, routes and runs its hooks: for a cached 13 KB body that framework work was
 * about a third of the server's time per request. Only a 200 that Fastify has already sent for the
 * same URL and content coding is repeated, with the headers Fastify sent and a new X-Request-Id, so
 * the route's validation, hooks and handler have all run once for that URL and release. A route may
 * also hand it reads answered per request (serveReads: stored assessments), with the headers of a 200
 * Fastify sent under the same path prefix.
 *
 * Everything else goes to Fastify: other methods, requests with an Origin (CORS), with
 * If-None-Match or If-Match (the response cache answers 304 and 412 from the entry it keeps), or
 * with a body; and every request while the front is closed: while the server logs requests, sheds
 * load or shuts down.
 */
export class CachedFront {
  private readonly answers = new Map<string, Answer>();
  /** Bytes of the bodies kept, counted once per answer (answers may share one body), and of their keys. */
  private bytes = 0;
  private readonly reads: Reads[] = [];
  private isOpen = false;
  private underPressure: () => boolean = () => false;
  /** Requests answered here, not by Fastify. */
  answered = 0;

  /**
   * Answers are kept per URL as sent and content coding, so several can share one cached body; the
   * least recently stored goes first once there are `maxAnswers`, or once their bodies and keys come
   * to more than `maxBytes`. An answer can keep a body the response cache has since dropped and built
   * again, so the bytes are bounded here too: spellings of one URL (`/docs/%79aml`) would otherwise
   * each keep a copy of their own, and a key, the URL as sent, can be as long as a request line
   * (16 KB: a padded `?limit=000…050`).
   */
  constructor(
    private readonly maxAnswers = 2000,
    private readonly maxBytes = 32 * 1024 * 1024,
  ) {}

  /** Starts answering; `underPressure` sends requests to Fastify, which sheds them, while true. */
  open(underPressure: () => boolean): void {
    this.underPressure = underPressure;
    this.isOpen = true;
  }

  close(): void {
    this.isOpen = false;
  }

  /** Whether Fastify must see this request even once its response is cached. */
  static routes(request: IncomingMessage): boolean {
    if (request.method !== 'GET') return true;
    const { headers } = request;
    for (const name of ROUTED_HEADERS) if (headers[name] !== undefined) return true;
    return false;
  }

  /**
   * Keeps a 200 about to be sent for `request` (as a Buffer, with the reply's headers as they stand
   * before Fastify adds Content-Length), to answer the same URL and coding from now on. Other
   * statuses are never repeated.
   */
  remember(request: IncomingMessage, coding: ContentCoding, reply: Outgoing, body: Buffer): void {
    if (!this.isOpen || reply.statusCode !== 200 || CachedFront.routes(request) || request.url === undefined) return;
    const answer = template(reply.getHeaders());
    answer.headers.push('content-length', String(body.length));
    const key = `${coding} ${request.url}`;
    this.forget(key);
    if (body.length + key.length > this.maxBytes) return;
    this.answers.set(key, { ...answer, body });
    this.bytes += body.length + key.length;
    while (this.answers.size > this.maxAnswers || this.bytes > this.maxBytes) this.forget(this.answers.keys().next().value as string);
  }

  private forget(key: string): void {
    const answer = this.answers.get(key);
    if (answer === undefined) return;
    this.answers.delete(key);
    this.bytes -= answer.body.length + key.length;
  }

  /**
   * Answers GETs under `prefix` with what `read` gives for the rest of the path, once Fastify has
   * sent a 200 under it; `read` must give a body only where the route would answer 200 with it, and
   * the route's headers must not depend on the path. The route calls the function returned with
   * each 200 it is about to send, whose headers are kept once. With `hold`, a Buffer body `read`
   * gives need only stay as it is in the turn of the event loop that reads it: one still being
   * written once that turn ends is held until its response closes.
   */
  serveReads(prefix: string, read: Reads['read'], hold?: Reads['hold']): (request: IncomingMessage, reply: Outgoing) => void {
    const reads: Reads = { prefix, read, hold };
    this.reads.push(reads);
    return (request, reply) => {
      if (reads.template !== undefined || !this.isOpen || reply.statusCode !== 200 || CachedFront.routes(request)) return;
      reads.template = template(reply.getHeaders());
    };
  }

  /** Answers the request if it can; false leaves it to Fastify. */
  answer(request: IncomingMessage, response: ServerResponse): boolean {
    if (!this.isOpen || CachedFront.routes(request) || this.underPressure()) return false;
    const url = request.url as string;
    const answer = this.answers.get(`${codingFor(request.headers['accept-encoding'])} ${url}`);
    if (answer !== undefined) return this.send(response, answer, answer.body);
    for (const reads of this.reads) {
      if (reads.template === undefined || !url.startsWith(reads.prefix)) continue;
      const body = reads.read(url.slice(reads.prefix.length));
      if (body !== undefined) return this.send(response, reads.template, body, true, reads.hold);
    }
    return false;
  }

  /**
   * Sends a 200. A body that stays as it is only in this turn (`hold` given) is copied for a response
   * queued behind an earlier one of its connection (pipelined), which Node writes later and may drop
   * without a 'close' when the connection closes. Otherwise it is written at once; whatever the
   * socket could not take yet keeps it held until the response closes, which it does once written
   * or once its socket has closed, and so stopped writing.
   */
  private send(response: ServerResponse, answer: Template, body: string | Buffer, addLength = false, hold?: Reads['hold']): true {
    const headers = answer.headers.slice();
    if (answer.idAt > 0) headers[answer.idAt] = randomUUID();
    if (addLength) headers.push('content-length', String(Buffer.byteLength(body)));
    const { socket } = response;
    const lent = hold !== undefined && typeof body !== 'string';
    response.writeHead(200, headers);
    response.end(lent && socket === null ? Buffer.from(body) : body);
    if (lent && socket !== null && response.writableLength > 0) response.once('close', hold(body));
    this.answered++;
    return true;
  }
}
