import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyReply, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { DEFAULTS } from './config.js';
import type { Content } from './content/load.js';
import type { Synchronous } from './db/client.js';
import { clientErrorAnswer, closingConnections, connectionLimit, continueBeforeBody, openFileLimit } from './http-edges.js';
import { addJsonBodyParser, refuseOnHeaders } from './json-body.js';
import { projectRoot } from './paths.js';
import cachedFront from './plugins/cached-front.js';
import cors, { type CorsOptions, corsHeadersForAnyOrigin, corsPreflight } from './plugins/cors.js';
import errors, { sendProblem } from './plugins/errors.js';
import notFound from './plugins/not-found.js';
import openapi from './plugins/openapi.js';
import protection, { type RateLimit } from './plugins/protection.js';
import responseCache from './plugins/response-cache.js';
import securityHeaders, { API_SECURITY_HEADERS } from './plugins/security-headers.js';
import store from './plugins/store.js';
import { refuseMalformedQuery } from './query-encoding.js';
import { withoutAssessmentIds } from './request-log.js';
import routes from './routes/index.js';
import { DEFAULT_RECENT_ASSESSMENTS_MB } from './services/recent-assessments.js';
import { MIB } from './services/storage-room.js';

export type AppOptions = {
  /** SQLite file; `:memory:` (the default) gives a fresh database, as tests want. */
  databasePath?: string;
  synchronous?: Synchronous;
  /** SQLite page cache in MiB (default DEFAULT_CACHE_MB of db/client). */
  databaseCacheMb?: number;
  /** Recently stored assessments kept in memory for reads, in MiB (default DEFAULT_RECENT_ASSESSMENTS_MB); 0 keeps none. */
  recentAssessmentsMb?: number;
  /** The most the database may hold, in MiB, before new assessments are refused 507 (default 0: no limit). */
  databaseMaxMb?: number;
  /** The disk space under the database, in MiB, that new assessments may not take (default 256; 0: none kept). */
  diskReserveMb?: number;
  logger?: FastifyServerOptions['logger'];
  corsOrigins?: '*' | string[];
  /** Content to seed instead of the files under seed/. */
  content?: Content;
  /** Largest request body in bytes (default 256 KiB); POST /v1/assessments/batch has its own. */
  bodyLimit?: number;
  /** Largest body, in bytes, of POST /v1/assessments/batch (default 4 MiB). */
  batchBodyLimit?: number;
  /** Batches scored and stored at once (default 2); one more is answered 503. */
  maxConcurrentBatches?: number;
  /** On close, how long to wait for responses still being written to slow readers (default 10 s). */
  drainMs?: number;
  /**
   * On close, how long open connections may still bring a request, answered 503 with
   * `Connection: close`, before the idle ones are closed (default 1 s; the wait ends once none is open).
   */
  lastCallMs?: number;
  /** Time allowed to receive a whole request, and to idle on a connection (default 15 s). */
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** Per-client limit on the write routes; off unless given (the server turns it on from config). */
  rateLimit?: RateLimit;
  /** Environment variables that look like a misspelt setting, logged at `warn` before the database is opened. */
  misspeltSettings?: readonly { variable: string; setting: string }[];
  /** Trust X-Forwarded-For from: nobody (false, the default), any proxy, N hops, or these addresses. */
  trustProxy?: boolean | number | string[];
  /** Above this event-loop delay the server sheds load with 503 (default 1000 ms). */
  maxEventLoopDelayMs?: number;
  /** Connections taken at once; more are closed as they are accepted (default: under the open-file limit, see connectionLimit). */
  maxConnections?: number;
};

const apiVersion: string = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).version;

/**
 * Every schema is zod. Given compiler factories, Fastify never loads its default compilers
 * (@fastify/ajv-compiler with Ajv, @fastify/fast-json-stringify-compiler), a sixth of the start-up's
 * module loading. The factories' types are written for Ajv, hence the cast.
 */
const zodCompilers = {
  buildValidator: () => validatorCompiler,
  buildSerializer: () => serializerCompiler,
} as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/** A size option in MiB, checked: a whole number from 0. */
function wholeMib(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${option} must be a whole number of MiB from 0, not ${value}`);
  return value;
}

const hops = (count: number) => (_address: string, hop: number) => hop < count;

/** Builds the whole application without listening: the server and the tests both use it. */
export async function buildApp(options: AppOptions = {}) {
  const recentAssessmentsMb = wholeMib('recentAssessmentsMb', options.recentAssessmentsMb ?? DEFAULT_RECENT_ASSESSMENTS_MB);
  const requestTimeout = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
  const corsOptions: CorsOptions = {
    origins: options.corsOrigins ?? '*',
    methods: ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'],
    exposedHeaders: [
      'ETag',
      'Location',
      'X-Request-Id',
      'Retry-After',
      'Idempotent-Replayed',
      'Accept-Encoding',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
      'Content-Disposition',
      'Allow',
      'Link',
    ],
    maxAgeSeconds: 600,
  };
  // For the requests that never reach the CORS hook: a preflight is still answered as a preflight.
  const answerCors = corsPreflight(corsOptions);
  const app = Fastify({
    logger: withoutAssessmentIds(options.logger ?? false),
    bodyLimit: options.bodyLimit ?? DEFAULTS.bodyLimit,
    requestTimeout,
    connectionTimeout: requestTimeout,
    // Node checks these deadlines only every connectionsCheckingInterval (30 s by default), and
    // headersTimeout would stay at 60 s: a client trickling bytes must be cut off on time.
    http: {
      requestTimeout,
      headersTimeout: requestTimeout,
      connectionsCheckingInterval: Math.max(250, Math.min(1000, requestTimeout / 2)),
      // Host lines are checked before the cached front instead, to answer with the API's headers
      // (see answerFirst in http-edges.ts).
      requireHostHeader: false,
    },
    keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULTS.keepAliveTimeoutMs,
    // A hop count trusts that many proxies nearest to the server.
    trustProxy: typeof options.trustProxy === 'number' ? hops(options.trustProxy) : (options.trustProxy ?? false),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    clientErrorHandler: clientErrorAnswer(corsHeadersForAnyOrigin(corsOptions)),
    // Requests that arrive while the server drains are refused by the protection plugin instead.
    return503OnClosing: false,
    routerOptions: { maxParamLength: 500 },
    schemaController: { compilersFactory: zodCompilers },
    // Malformed URLs are rejected by the router before any hook runs: answer them as problems too.
    frameworkErrors: (error, request, reply) => {
      (reply as FastifyReply).headers(API_SECURITY_HEADERS).header('x-request-id', request.id);
      if (answerCors(request, reply as FastifyReply)) return;
      const detail = error.code === 'FST_ERR_BAD_URL' ? 'The URL is not valid: check its percent-encoding.' : 'A path segment is too long.';
      sendProblem(request, reply as FastifyReply, { status: 400, code: 'bad-url', detail });
    },
  }).withTypeProvider<ZodTypeProvider>();
  // Before the database is opened, which a misspelt DATABASE_PATH would leave at its default.
  for (const { variable, setting } of options.misspeltSettings ?? []) {
    app.log.warn({ variable, setting }, `${variable} is not a setting and is ignored: did you mean ${setting}?`);
  }
  // A start that fails part-way (a bad option, a plugin that throws) closes what was opened before
  // it: the database and its checkpoint worker, the purge timer, the load monitor.
  try {
    // Bodies are JSON only: anything else is a 415.
    app.removeContentTypeParser('text/plain');

    addJsonBodyParser(app);
    app.addHook('preParsing', refuseOnHeaders);
    app.addHook('preParsing', continueBeforeBody);

    await app.register(errors);
    await app.register(notFound);
    await app.register(securityHeaders);
    await app.register(cors, corsOptions);
    await app.register(openapi, { apiVersion });

    await app.register(store, {
      databasePath: options.databasePath ?? ':memory:',
      synchronous: options.synchronous,
      cacheMb: options.databaseCacheMb,
      content: options.content,
    });
    await app.register(protection, {
      rateLimit: options.rateLimit ?? { enabled: false, max: 0, windowMs: 0 },
      maxEventLoopDelayMs: options.maxEventLoopDelayMs ?? DEFAULTS.maxEventLoopDelayMs,
    });
    // After CORS, so that a browser can read the 400 of a broken query string, and after the write
    // limit, so that a write refused for its query string counts against the client's budget.
    app.addHook('onRequest', refuseMalformedQuery);
    await app.register(cachedFront);
    await app.register(responseCache, { tagPrefix: app.kb.release.id });
    await app.register(routes, {
      apiVersion,
      batchBodyLimit: options.batchBodyLimit ?? DEFAULTS.batchBodyLimit,
      maxConcurrentBatches: options.maxConcurrentBatches ?? DEFAULTS.maxConcurrentBatches,
      recentAssessmentsBytes: recentAssessmentsMb * MIB,
      storageLimits: {
        maxDatabaseBytes: wholeMib('databaseMaxMb', options.databaseMaxMb ?? DEFAULTS.databaseMaxMb) * MIB,
        diskReserveBytes: wholeMib('diskReserveMb', options.diskReserveMb ?? DEFAULTS.diskReserveMb) * MIB,
      },
    });
    const maxConnections = options.maxConnections ?? connectionLimit(openFileLimit());
    if (maxConnections !== undefined) app.server.maxConnections = maxConnections;
    // Last of the preClose hooks: once the protection plugin refuses requests and the front is closed,
    // the server waits for its sockets to write what they hold, and gives the requests still on their way
    // over open connections a last call, before Fastify closes it.
    const closing = closingConnections(app.server);
    const waits = { drainMs: options.drainMs ?? DEFAULTS.drainMs, lastCallMs: options.lastCallMs ?? DEFAULTS.lastCallMs };
    app.addHook('preClose', async () => {
      const { waitedMs, cut } = await closing(waits);
      if (cut > 0) app.log.error({ waitedMs, connections: cut }, 'closing with responses still unsent: their clients did not read them');
    });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
