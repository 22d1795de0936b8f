import { isIP } from 'node:net';
import { z } from 'zod';
import './schemas/messages.js';
import type { AppOptions } from './app.js';
import { DEFAULT_CACHE_MB } from './db/client.js';
import { editDistance } from './names.js';
import type { RateLimit } from './plugins/protection.js';
import { DEFAULT_RECENT_ASSESSMENTS_MB } from './services/recent-assessments.js';

/** What the app uses for an option it is not given; the environment's defaults are the same. */
export const DEFAULTS = {
  bodyLimit: 256 * 1024,
  batchBodyLimit: 4 * 1024 * 1024,
  maxConcurrentBatches: 2,
  drainMs: 10_000,
  lastCallMs: 1_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  maxEventLoopDelayMs: 1_000,
  databaseMaxMb: 0,
  diskReserveMb: 256,
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * A whole number in a range, written in decimal digits (so `0x10`, `1e3` and blanks are refused), with
 * one message whatever is wrong with it (a sign, a fraction, too many digits).
 */
const integer = (min: number, max: number) => {
  const range = `must be a whole number from ${min} to ${max}`;
  return z
    .string()
    .trim()
    .regex(/^\d+$/, { error: range, abort: true })
    .transform(Number)
    .refine((value) => value >= min && value <= max, range);
};

/**
 * An address, or an address with a prefix length that fits it (`10.0.0.0/8`, `fd00::/8`). A prefix
 * of 0, every address, is left to `true`: the proxy check Fastify builds refuses it.
 */
function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (version === 4 ? 32 : 128));
}

/** The origin a browser sends for a page at `entry` (lowercase host, no default port, no path), if any. */
function originOf(entry: string): string | undefined {
  try {
    const { origin } = new URL(entry);
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** An origin exactly as a browser sends it: scheme, host and a port other than the default. */
function isOrigin(entry: string): boolean {
  return originOf(entry) === entry;
}

/** One of a few words, blanks around it ignored as for every other setting. */
const choice = <const T extends readonly [string, ...string[]]>(values: T) => z.string().trim().pipe(z.enum(values));

const list = (value: string) =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);

const ConfigSchema = z.object({
  PORT: integer(0, 65535).default(3000),
  // Text settings are trimmed as the numbers are: an env file saved with CRLF endings must not
  // name another database file (`kb.sqlite\r`) or an interface that does not exist.
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  // A file on disk: SQLite's in-memory database (`:memory:`, or a `file:` URI that may name one) would
  // lose every acknowledged assessment when the process ends.
  DATABASE_PATH: z
    .string()
    .trim()
    .min(1)
    .refine(
      (path) => path !== ':memory:' && !/^file:/i.test(path),
      'must name a file on disk, not :memory: or a file: URI (an in-memory database would lose every assessment on restart)',
    )
    // SQLite would strip the slash and create a database named after the folder, then fail to stat it.
    .refine((path) => !/[/\\]$/.test(path), 'must name a file, not a folder (it ends in a slash)')
    .default('./data/kb.sqlite'),
  LOG_LEVEL: choice(LOG_LEVELS).default('info'),
  CORS_ORIGINS: z
    .string()
    .trim()
    .superRefine((value, ctx) => {
      if (value === '*' || (list(value).length > 0 && list(value).every(isOrigin))) return;
      // An entry a browser would send otherwise (`https://HR.example`, `https://hr.example:443`, a
      // trailing slash) is told how to write it: the rule alone does not say what is wrong with it.
      const rewritten = list(value).flatMap((entry) => {
        const origin = originOf(entry);
        return origin !== undefined && origin !== entry ? [`${entry} as ${origin}`] : [];
      });
      ctx.addIssue({
        code: 'custom',
        message:
          '`*` alone (not in a list), or comma-separated origins such as https://hr.example (no path, no trailing slash)' +
          (rewritten.length > 0 ? `: write ${rewritten.join(', ')}, as browsers send ${rewritten.length > 1 ? 'them' : 'it'}` : ''),
      });
    })
    .default('*'),
  // Longer than the default REQUEST_TIMEOUT_MS: a client that stops sending mid-request idles out and
  // is cut off before the grace runs out (one that keeps trickling bytes lasts until it does: once the
  // server closes, Node no longer checks the request timeout).
  SHUTDOWN_GRACE_MS: integer(1000, 120_000).default(20_000),
  DATABASE_SYNCHRONOUS: choice(['normal', 'full']).default('normal'),
  DATABASE_CACHE_MB: integer(1, 4096).default(DEFAULT_CACHE_MB),
  RECENT_ASSESSMENTS_MB: integer(0, 4096).default(DEFAULT_RECENT_ASSESSMENTS_MB),
  DATABASE_MAX_MB: integer(0, 1024 * 1024 * 1024).default(DEFAULTS.databaseMaxMb),
  DISK_RESERVE_MB: integer(0, 1024 * 1024 * 1024).default(DEFAULTS.diskReserveMb),
  BODY_LIMIT: integer(1024, 64 * 1024 * 1024).default(DEFAULTS.bodyLimit),
  BATCH_BODY_LIMIT: integer(1024, 256 * 1024 * 1024).default(DEFAULTS.batchBodyLimit),
  MAX_CONCURRENT_BATCHES: integer(1, 64).default(DEFAULTS.maxConcurrentBatches),
  REQUEST_TIMEOUT_MS: integer(1000, 600_000).default(DEFAULTS.requestTimeoutMs),
  // From a second: Node tells clients the timeout in whole seconds (`Keep-Alive: timeout=`), rounded
  // down, and anything shorter would read as 0.
  KEEP_ALIVE_TIMEOUT_MS: integer(1000, 600_000).default(DEFAULTS.keepAliveTimeoutMs),
  RATE_LIMIT_ENABLED: choice(['true', 'false']).default('true'),
  RATE_LIMIT_MAX: integer(1, 1_000_000).default(120),
  RATE_LIMIT_WINDOW_MS: integer(1000, 86_400_000).default(60_000),
  TRUST_PROXY: z
    .string()
    .trim()
    .refine((value) => /^(true|false|\d+)$/.test(value) || (list(value).length > 0 && list(value).every(isAddressOrRange)), {
      message:
        'must be true, false, a hop count, or comma-separated IP addresses or CIDR ranges (a prefix from 1: true trusts every address)',
    })
    .default('false'),
  MAX_EVENT_LOOP_DELAY_MS: integer(10, 60_000).default(DEFAULTS.maxEventLoopDelayMs),
});

export type Config = {
  port: number;
  host: string;
  databasePath: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** `*` or the exact origins allowed to call the API from a browser. */
  corsOrigins: '*' | string[];
  shutdownGraceMs: number;
  synchronous: 'normal' | 'full';
  /** SQLite page cache of the request thread's connection, in MiB. */
  databaseCacheMb: number;
  /** Recently stored assessments kept in memory for reads, in MiB; 0 keeps none. */
  recentAssessmentsMb: number;
  /** The most the database may hold before new assessments are refused, in MiB; 0 sets no limit. */
  databaseMaxMb: number;
  /** Disk space under the database that new assessments may not take, in MiB; 0 keeps none. */
  diskReserveMb: number;
  bodyLimit: number;
  batchBodyLimit: number;
  maxConcurrentBatches: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  rateLimit: RateLimit;
  /** Whether and whom to trust for X-Forwarded-For: false, true, a hop count, or addresses. */
  trustProxy: boolean | number | string[];
  maxEventLoopDelayMs: number;
};

function parseTrustProxy(value: string): Config['trustProxy'] {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return list(value);
}

/** The exit code of a start or command refused for its configuration (sysexits(3) EX_CONFIG). */
export const EX_CONFIG = 78;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Environment variables that look like a misspelt setting (`DATABSE_PATH`, `LOGLEVEL`,
 * `database_path`, `LOG_LEVLE`, `port`, `PROT`, `SHUTDOWN_GRACE`), each with the setting it is
 * closest to: a typo would otherwise leave the default in force without a word. Case and underscores
 * aside: a setting of 8 characters or more one edit away (a swap of two neighbours is one), a shorter
 * one only with two neighbours swapped, so that `HOME` is never taken for `HOST`, nor `DATABASE_PASS`
 * for `DATABASE_PATH`; or a setting without its unit (`_MS`, `_MB`).
 */
export function misspeltSettings(env: NodeJS.ProcessEnv = process.env): { variable: string; setting: string }[] {
  const squeeze = (name: string) => name.toUpperCase().replaceAll('_', '');
  const sorted = (name: string) => [...name].sort().join('');
  const settings = Object.keys(ConfigSchema.shape).map((name) => ({
    name,
    squeezed: squeeze(name),
    unitless: squeeze(name.replace(/_M[SB]$/, '')),
  }));
  const found: { variable: string; setting: string }[] = [];
  for (const variable of Object.keys(env)) {
    if (variable in ConfigSchema.shape) continue;
    const squeezed = squeeze(variable);
    const setting = settings.find(({ name, squeezed: wanted, unitless }) => {
      if (squeezed === wanted || squeezed === unitless) return true;
      if (editDistance(squeezed, wanted, 1) > 1) return false;
      return name.length >= 8 || (squeezed.length === wanted.length && sorted(squeezed) === sorted(wanted));
    });
    if (setting !== undefined) found.push({ variable, setting: setting.name });
  }
  return found;
}

/** Settings each valid but working against each other, a sentence each, for the server to warn of at start. */
export function settingConflicts(config: Pick<Config, 'shutdownGraceMs' | 'requestTimeoutMs'>): string[] {
  const conflicts: string[] = [];
  if (config.shutdownGraceMs <= config.requestTimeoutMs) {
    conflicts.push(
      `SHUTDOWN_GRACE_MS (${config.shutdownGraceMs}) is not above REQUEST_TIMEOUT_MS (${config.requestTimeoutMs}): ` +
        'a client that stops sending mid-request outlasts the grace, and a shutdown then cuts its connection and exits 1',
    );
  }
  return conflicts;
}

/** Reads the configuration once from the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", so the default applies.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = ConfigSchema.safeParse(set);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.')}: ${issue.message} (got ${JSON.stringify(env[String(issue.path[0])])})`,
    );
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return {
    port: c.PORT,
    host: c.HOST,
    databasePath: c.DATABASE_PATH,
    logLevel: c.LOG_LEVEL,
    corsOrigins: c.CORS_ORIGINS === '*' ? '*' : list(c.CORS_ORIGINS),
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    synchronous: c.DATABASE_SYNCHRONOUS,
    databaseCacheMb: c.DATABASE_CACHE_MB,
    recentAssessmentsMb: c.RECENT_ASSESSMENTS_MB,
    databaseMaxMb: c.DATABASE_MAX_MB,
    diskReserveMb: c.DISK_RESERVE_MB,
    bodyLimit: c.BODY_LIMIT,
    batchBodyLimit: c.BATCH_BODY_LIMIT,
    maxConcurrentBatches: c.MAX_CONCURRENT_BATCHES,
    requestTimeoutMs: c.REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: c.KEEP_ALIVE_TIMEOUT_MS,
    rateLimit: { enabled: c.RATE_LIMIT_ENABLED === 'true', max: c.RATE_LIMIT_MAX, windowMs: c.RATE_LIMIT_WINDOW_MS },
    trustProxy: parseTrustProxy(c.TRUST_PROXY),
    maxEventLoopDelayMs: c.MAX_EVENT_LOOP_DELAY_MS,
  };
}

/** The app's options from the configuration; the port, host and shutdown grace stay with the server. */
export function appOptions(config: Config): AppOptions {
  return {
    databasePath: config.databasePath,
    synchronous: config.synchronous,
    databaseCacheMb: config.databaseCacheMb,
    recentAssessmentsMb: config.recentAssessmentsMb,
    databaseMaxMb: config.databaseMaxMb,
    diskReserveMb: config.diskReserveMb,
    corsOrigins: config.corsOrigins,
    // Silent means no logger at all, so no per-request child loggers are built.
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    batchBodyLimit: config.batchBodyLimit,
    maxConcurrentBatches: config.maxConcurrentBatches,
    requestTimeoutMs: config.requestTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    rateLimit: config.rateLimit,
    trustProxy: config.trustProxy,
    maxEventLoopDelayMs: config.maxEventLoopDelayMs,
    // The last call on idle keep-alive connections takes at most half the grace period, so that a
    // shutdown with nothing in flight ends well inside it (and exits 0) even at its shortest.
    lastCallMs: Math.min(DEFAULTS.lastCallMs, Math.floor(config.shutdownGraceMs / 2)),
  };
}
