import { isIPv6 } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import fp from 'fastify-plugin';
import { ApiError, ShuttingDownError } from '../errors.js';
import { lingerOnClose } from '../http-edges.js';
import { declaresBody } from '../json-body.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether the server has begun to shut down (its preClose hooks have started). */
    isShuttingDown(): boolean;
  }
  interface FastifyContextConfig {
    /** Counts the route's requests against the client's one budget of write requests. */
    writeLimit?: boolean;
  }
}

/** The write budget of each client: at most `max` writes per window. */
export type RateLimit = { enabled: boolean; max: number; windowMs: number };

export type ProtectionOptions = {
  rateLimit: RateLimit;
  maxEventLoopDelayMs: number;
};

/** Seconds a client is asked to wait when the server sheds load. */
const OVERLOAD_RETRY_AFTER_S = 5;

/** How often under-pressure samples the event loop, by default, and how finely it does. */
const DEFAULT_SAMPLE_INTERVAL_MS = 1000;
const DELAY_RESOLUTION_MS = 10;

/**
 * How often to read the event-loop delay for a limit. under-pressure takes an interval without a
 * single sample of the loop for an infinite delay, and a stall that begins just after a reading and
 * outlasts the interval leaves one empty: with a 1 s interval, a stall of just over a second would
 * shed load under any limit. An interval at least as long as the limit means such a stall is
 * longer than the limit, so it is shed only when it should be.
 */
const delaySampleIntervalMs = (maxEventLoopDelayMs: number) =>
  Math.max(DEFAULT_SAMPLE_INTERVAL_MS, maxEventLoopDelayMs + DELAY_RESOLUTION_MS);

/** The eight 16-bit groups of an IPv6 address (a zone is dropped), or undefined for anything else. */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip.split('%')[0] ?? '';
  if (!isIPv6(text)) return undefined;
  // A trailing dotted quad stands for the last two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((group) => Number.parseInt(group, 16));
}

/**
 * An address as some proxies write it in X-Forwarded-For, with a port (`203.0.113.7:5678`,
 * `[2001:db8::1]:5678`) or in brackets: the address alone, so that each source port is not a client
 * of its own.
 */
function bareAddress(ip: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(ip);
  if (bracketed) return bracketed[1] as string;
  return /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(ip)?.[1] ?? ip;
}

/** A rate-limit window as a 429 states it: whole seconds when it is some (`60 s`), else milliseconds (`1500 ms`). */
const windowText = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

/**
 * The rate limit's key for a client address. An IPv6 host is usually given a whole /64 and can
 * change address within it at will (privacy extensions do so on their own), so its budget is that
 * network's; an IPv4-mapped IPv6 address, however written, counts as the IPv4 address it carries.
 * A port or brackets around the address are left out. Anything else is its own key.
 */
export function clientKey(ip: string): string {
  const address = bareAddress(ip.trim());
  const groups = ipv6Groups(address);
  if (groups === undefined) return address;
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) {
    return `${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/**
 * Load shedding and rate limiting. Under event-loop pressure every route but the probes (which set
 * `config.pressureHandler` to let requests through) answers 503 with Retry-After instead of queueing;
 * /ready then reports not ready. Write routes opt into the per-client rate limit with
 * `config.writeLimit`: they all count against one budget per client, however the writes are spread
 * over them.
 */
export default fp<ProtectionOptions>(
  async (app, options) => {
    // While the server drains on shutdown, a request that still arrives on an open connection is
    // refused as a problem, with Retry-After and Connection: close (Fastify's own refusal, turned off
    // in buildApp, is plain JSON without the API's headers).
    let closing = false;
    app.addHook('onRequest', (_request, _reply, done) => {
      done(closing ? new ShuttingDownError('The server is shutting down: retry on a new connection.') : undefined);
    });
    // A response sent while the server drains ends its connection once it is written. So does one
    // answered before the request's body has all arrived (a 404, 405, 413, 429 or 503 decided on the
    // headers): Node would otherwise read and drop the rest of the body, however large, to keep the
    // connection; it is read for LINGER_MS at most instead, so that the client reads its answer.
    app.addHook('onSend', (request, reply, payload, done) => {
      const unread = !request.raw.complete && declaresBody(request.headers);
      if (closing || unread) reply.header('connection', 'close');
      if (unread && !closing) lingerOnClose(request.raw);
      done(null, payload);
    });
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.decorate('isShuttingDown', () => closing);

    await app.register(underPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs,
      sampleInterval: delaySampleIntervalMs(options.maxEventLoopDelayMs),
      retryAfter: OVERLOAD_RETRY_AFTER_S,
    });

    if (options.rateLimit.enabled) {
      await app.register(rateLimit, {
        global: false,
        max: options.rateLimit.max,
        timeWindow: options.rateLimit.windowMs,
        // The client address comes from request.ip, which honours X-Forwarded-For only under trustProxy.
        keyGenerator: (request) => clientKey(request.ip),
        errorResponseBuilder: (_request, context) =>
          new ApiError(
            'rate-limited',
            `At most ${context.max} write request${context.max === 1 ? '' : 's'} per ${windowText(options.rateLimit.windowMs)} window. Retry after ${context.after}.`,
          ),
      });
      // One limiter, made without route options, keeps its counts in the plugin's one store; a
      // route's own `config.rateLimit` would get a store of its own, and a budget per route.
      const writeLimit = app.rateLimit();
      // A hook of the app's, not of the write routes': it runs before the checks of the request that
      // come after it (the query string's, then the route's own), so that every write is counted and a
      // client over its budget is told so (429) before any of them.
      app.addHook('onRequest', (request, reply, done) => {
        if (request.routeOptions.config?.writeLimit !== true) return done();
        writeLimit.call(app, request, reply).then(() => done(), done);
      });
    }
  },
  { name: 'protection' },
);
