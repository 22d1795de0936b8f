import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A whole number written in decimal digits (so `0x10`, `1e3` and blanks are refused). */
const integer = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

const ConfigSchema = z.object({
  PORT: integer(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_PATH: z.string().min(1).default('./data/kb.sqlite'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  CORS_ORIGINS: z.string().min(1).default('*'),
  SHUTDOWN_GRACE_MS: integer(0, 120_000).default(10_000),
});

export type Config = {
  port: number;
  host: string;
  databasePath: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** `*` or the exact origins allowed to call the API from a browser. */
  corsOrigins: '*' | string[];
  shutdownGraceMs: number;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
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
    corsOrigins:
      c.CORS_ORIGINS === '*'
        ? '*'
        : c.CORS_ORIGINS.split(',')
            .map((origin) => origin.trim())
            .filter(Boolean),
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
  };
}
