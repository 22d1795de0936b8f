import { describe, expect, it } from 'vitest';
import { appOptions, ConfigError, loadConfig, misspeltSettings, settingConflicts } from '../src/config.js';

function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** Every variable set to a value other than its default. */
const OVERRIDES = {
  PORT: '8080',
  HOST: '0.0.0.0',
  DATABASE_PATH: '/var/lib/kb/kb.sqlite',
  LOG_LEVEL: 'warn',
  CORS_ORIGINS: 'https://hr.example, https://app.example',
  SHUTDOWN_GRACE_MS: '2500',
  DATABASE_SYNCHRONOUS: 'full',
  BODY_LIMIT: '65536',
  BATCH_BODY_LIMIT: '1048576',
  MAX_CONCURRENT_BATCHES: '4',
  REQUEST_TIMEOUT_MS: '5000',
  KEEP_ALIVE_TIMEOUT_MS: '2000',
  RATE_LIMIT_ENABLED: 'false',
  RATE_LIMIT_MAX: '10',
  RATE_LIMIT_WINDOW_MS: '30000',
  TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
  MAX_EVENT_LOOP_DELAY_MS: '250',
  DATABASE_CACHE_MB: '64',
  RECENT_ASSESSMENTS_MB: '24',
  DATABASE_MAX_MB: '2048',
  DISK_RESERVE_MB: '0',
};

describe('loadConfig', () => {
  it('has defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.databasePath).toBe('./data/kb.sqlite');
    expect(config.logLevel).toBe('info');
    expect(config.corsOrigins).toBe('*');
    expect(config.shutdownGraceMs).toBeGreaterThan(0);
  });

  // A connection that stops sending is cut after REQUEST_TIMEOUT_MS. Guards against: the default
  // grace (10 s) was shorter than the default request timeout (15 s), so one stalled upload made a
  // routine SIGTERM run out its grace and exit 1.
  it('gives shutdown, by default, longer than a stalled request takes to be cut off', () => {
    const config = loadConfig({});
    expect(config.shutdownGraceMs).toBeGreaterThan(config.requestTimeoutMs + 1000);
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ HOME: '/root', NODE_ENV: 'production' })).toEqual(loadConfig({}));
  });

  it('reads valid overrides', () => {
    const config = loadConfig(OVERRIDES);
    expect(config).toEqual({
      port: 8080,
      host: '0.0.0.0',
      databasePath: '/var/lib/kb/kb.sqlite',
      logLevel: 'warn',
      corsOrigins: ['https://hr.example', 'https://app.example'],
      shutdownGraceMs: 2500,
      synchronous: 'full',
      databaseCacheMb: 64,
      recentAssessmentsMb: 24,
      databaseMaxMb: 2048,
      diskReserveMb: 0,
      bodyLimit: 65536,
      batchBodyLimit: 1048576,
      maxConcurrentBatches: 4,
      requestTimeoutMs: 5000,
      keepAliveTimeoutMs: 2000,
      rateLimit: { enabled: false, max: 10, windowMs: 30000 },
      trustProxy: ['10.0.0.0/8', '127.0.0.1'],
      maxEventLoopDelayMs: 250,
    });
  });

  it('turns on rate limiting and trusts no proxy by default', () => {
    const config = loadConfig({});
    expect(config.rateLimit.enabled).toBe(true);
    expect(config.trustProxy).toBe(false);
    expect(config.bodyLimit).toBe(256 * 1024);
    expect(config.synchronous).toBe('normal');
    expect(config.databaseCacheMb).toBe(16);
    expect(() => loadConfig({ DATABASE_CACHE_MB: '0' })).toThrow(/DATABASE_CACHE_MB/);
    expect(() => loadConfig({ DATABASE_CACHE_MB: '1.5' })).toThrow(/DATABASE_CACHE_MB/);
    expect(() => loadConfig({ DATABASE_CACHE_MB: '4097' })).toThrow(/DATABASE_CACHE_MB/);
    expect(loadConfig({ DATABASE_CACHE_MB: '4096' }).databaseCacheMb).toBe(4096);
    // No limit on the database's size unless set, and 256 MiB of its disk kept free.
    expect(config.databaseMaxMb).toBe(0);
    expect(config.diskReserveMb).toBe(256);
    expect(() => loadConfig({ DATABASE_MAX_MB: '-1' })).toThrow(/DATABASE_MAX_MB/);
    expect(() => loadConfig({ DISK_RESERVE_MB: '0.5' })).toThrow(/DISK_RESERVE_MB/);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(() => loadConfig({ DATABASE_SYNCHRONOUS: 'off' })).toThrow(/DATABASE_SYNCHRONOUS/);
    // Node advertises the keep-alive timeout in whole seconds: under one it would say `timeout=0`.
    expect(() => loadConfig({ KEEP_ALIVE_TIMEOUT_MS: '999' })).toThrow(/KEEP_ALIVE_TIMEOUT_MS/);
    expect(loadConfig({ KEEP_ALIVE_TIMEOUT_MS: '1000' }).keepAliveTimeoutMs).toBe(1000);
  });

  it('reads process.env by default', () => {
    const saved = process.env.PORT;
    process.env.PORT = '4321';
    try {
      expect(loadConfig().port).toBe(4321);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  it('fails with a readable ConfigError naming PORT when PORT is not a number', () => {
    const error = configErrorOf({ PORT: 'abc' });
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain('PORT');
    expect(error.message).toContain('abc');
    expect(error.message).not.toMatch(/^\s*[[{]/); // not a raw JSON dump of zod issues
  });

  it.each(['70000', '-1', '80.5'])('rejects PORT=%s', (port) => {
    expect(configErrorOf({ PORT: port }).message).toContain('PORT');
  });

  it('does not read an empty PORT as port 0 (a random port)', () => {
    let port: number | undefined;
    try {
      port = loadConfig({ PORT: '' }).port;
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return;
    }
    expect(port).not.toBe(0);
  });

  // Guards against: only an empty string meaning "not set", so a value of blanks alone (an env file
  // saved with CRLF endings gives `PORT=\r`, or `HOST=" "`) was parsed and refused, and the server
  // exited 78 where the README says the default applies.
  it('reads a value of blanks alone as not set, so the default applies', () => {
    const blank = {
      PORT: ' ',
      HOST: '\r',
      DATABASE_PATH: '\t',
      CORS_ORIGINS: ' ',
      BODY_LIMIT: ' \r',
      LOG_LEVEL: '\r\n',
      TRUST_PROXY: '  ',
    };
    expect(loadConfig(blank)).toEqual(loadConfig({}));
  });

  // Guards against: a lower bound under the README's 1024 bytes, so BODY_LIMIT=10 was accepted at
  // startup and every POST was then answered 413.
  it.each([
    ['BODY_LIMIT', 'bodyLimit', 64 * 1024 * 1024],
    ['BATCH_BODY_LIMIT', 'batchBodyLimit', 256 * 1024 * 1024],
  ] as const)('takes %s from 1024 to its maximum and refuses a byte either side', (name, field, max) => {
    expect(loadConfig({ [name]: '1024' })[field]).toBe(1024);
    expect(loadConfig({ [name]: String(max) })[field]).toBe(max);
    for (const bad of ['1023', String(max + 1)]) {
      // Anchored: "BODY_LIMIT" alone is also part of "BATCH_BODY_LIMIT".
      expect(configErrorOf({ [name]: bad }).message).toMatch(new RegExp(`^  ${name}: .*\\(got "${bad}"\\)$`, 'm'));
    }
  });

  it('takes MAX_CONCURRENT_BATCHES from 1 to 64, 2 when not set', () => {
    expect(loadConfig({}).maxConcurrentBatches).toBe(2);
    expect(loadConfig({ MAX_CONCURRENT_BATCHES: '1' }).maxConcurrentBatches).toBe(1);
    expect(loadConfig({ MAX_CONCURRENT_BATCHES: '64' }).maxConcurrentBatches).toBe(64);
    for (const bad of ['0', '65', 'many'])
      expect(configErrorOf({ MAX_CONCURRENT_BATCHES: bad }).message).toContain('MAX_CONCURRENT_BATCHES');
  });

  it('rejects an unknown LOG_LEVEL, naming it', () => {
    expect(configErrorOf({ LOG_LEVEL: 'verbose' }).message).toContain('LOG_LEVEL');
  });

  it('names every bad variable at once', () => {
    const message = configErrorOf({ PORT: 'abc', LOG_LEVEL: 'loud', SHUTDOWN_GRACE_MS: 'soon' }).message;
    expect(message).toContain('PORT');
    expect(message).toContain('LOG_LEVEL');
    expect(message).toContain('SHUTDOWN_GRACE_MS');
  });
});

describe('DATABASE_PATH', () => {
  // Guards against: ':memory:' was taken, so every acknowledged assessment was lost on restart.
  it.each([':memory:', 'file::memory:', 'file:kb.sqlite?mode=memory', 'file:kb.sqlite'])(
    'refuses %s, which would not keep assessments',
    (path) => {
      const { message } = configErrorOf({ DATABASE_PATH: path });
      expect(message).toContain('DATABASE_PATH');
      // A file: URI is named as one, not called an in-memory database it may not be.
      expect(message).toContain('must name a file on disk, not :memory: or a file: URI');
    },
  );

  it('tells a CORS_ORIGINS that puts * in a list that * stands alone', () => {
    expect(configErrorOf({ CORS_ORIGINS: '*,https://a.example' }).message).toContain('`*` alone (not in a list)');
  });

  // Guards against (from an operations review): `/srv/kb/` created and seeded a database named
  // /srv/kb, then failed with a bare ENOTDIR that named no setting.
  it('refuses a path ending in a slash, saying it names a folder', () => {
    expect(configErrorOf({ DATABASE_PATH: '/srv/kb/' }).message).toMatch(/DATABASE_PATH.*not a folder/);
  });
});

describe('appOptions', () => {
  it('hands every setting of the app to it, and keeps the port, host and grace period out', () => {
    const config = loadConfig(OVERRIDES);
    expect(appOptions(config)).toEqual({
      databasePath: '/var/lib/kb/kb.sqlite',
      synchronous: 'full',
      databaseCacheMb: 64,
      recentAssessmentsMb: 24,
      databaseMaxMb: 2048,
      diskReserveMb: 0,
      corsOrigins: ['https://hr.example', 'https://app.example'],
      logger: { level: 'warn' },
      bodyLimit: 65536,
      batchBodyLimit: 1048576,
      maxConcurrentBatches: 4,
      requestTimeoutMs: 5000,
      keepAliveTimeoutMs: 2000,
      rateLimit: { enabled: false, max: 10, windowMs: 30000 },
      trustProxy: ['10.0.0.0/8', '127.0.0.1'],
      maxEventLoopDelayMs: 250,
      lastCallMs: 1000,
    });
  });

  // Guards against: at SHUTDOWN_GRACE_MS=1000 the 1 s last call on an idle keep-alive connection used
  // the whole grace, so a shutdown with nothing in flight exited 1 ('grace period exceeded').
  it('keeps the last call on idle connections to half the grace period at most', () => {
    expect(appOptions(loadConfig({ SHUTDOWN_GRACE_MS: '1000' })).lastCallMs).toBe(500);
    expect(appOptions(loadConfig({ SHUTDOWN_GRACE_MS: '1500' })).lastCallMs).toBe(750);
    expect(appOptions(loadConfig({ SHUTDOWN_GRACE_MS: '120000' })).lastCallMs).toBe(1000);
  });

  it('builds no logger at all for LOG_LEVEL=silent', () => {
    expect(appOptions(loadConfig({ LOG_LEVEL: 'silent' })).logger).toBe(false);
  });
});

// Guards against: DATABSE_PATH=/x started the server on ./data/kb.sqlite without a word.
// Guards against (from an operator's walk through the README): SHUTDOWN_GRACE_MS=1000 beside the
// default 15 s request timeout started without a word, though the README says to keep it above.
describe('settingConflicts', () => {
  it('names a shutdown grace not above the request timeout, and nothing for the defaults', () => {
    expect(settingConflicts(loadConfig({}))).toEqual([]);
    expect(settingConflicts(loadConfig({ SHUTDOWN_GRACE_MS: '1000' }))).toEqual([
      'SHUTDOWN_GRACE_MS (1000) is not above REQUEST_TIMEOUT_MS (15000): a client that stops sending mid-request outlasts the grace, and a shutdown then cuts its connection and exits 1',
    ]);
    expect(settingConflicts(loadConfig({ SHUTDOWN_GRACE_MS: '15001' }))).toEqual([]);
  });
});

describe('misspeltSettings', () => {
  it('names variables a typo away from a setting, with the setting', () => {
    expect(
      misspeltSettings({ DATABSE_PATH: '/x', LOGLEVEL: 'warn', database_path: '/y', MAX_CONCURENT_BATCHES: '4', DATABASE_PATH: '/z' }),
    ).toEqual([
      { variable: 'DATABSE_PATH', setting: 'DATABASE_PATH' },
      { variable: 'LOGLEVEL', setting: 'LOG_LEVEL' },
      { variable: 'database_path', setting: 'DATABASE_PATH' },
      { variable: 'MAX_CONCURENT_BATCHES', setting: 'MAX_CONCURRENT_BATCHES' },
    ]);
  });

  // Guards against (from an operator's walk through the README): swapped letters, a short name in
  // lowercase and a setting without its unit were ignored without a word.
  it('names swapped letters, a setting in lowercase and a setting without its unit', () => {
    expect(
      misspeltSettings({
        DATABASE_PAHT: '/x',
        LOG_LEVLE: 'warn',
        PROT: '1',
        HSOT: 'x',
        port: '1',
        host: 'x',
        SHUTDOWN_GRACE: '5000',
        DISK_RESERVE: '0',
      }),
    ).toEqual([
      { variable: 'DATABASE_PAHT', setting: 'DATABASE_PATH' },
      { variable: 'LOG_LEVLE', setting: 'LOG_LEVEL' },
      { variable: 'PROT', setting: 'PORT' },
      { variable: 'HSOT', setting: 'HOST' },
      { variable: 'port', setting: 'PORT' },
      { variable: 'host', setting: 'HOST' },
      { variable: 'SHUTDOWN_GRACE', setting: 'SHUTDOWN_GRACE_MS' },
      { variable: 'DISK_RESERVE', setting: 'DISK_RESERVE_MB' },
    ]);
  });

  it('leaves alone the settings themselves and the variables every shell has', () => {
    expect(
      misspeltSettings({
        PORT: '1',
        HOST: 'x',
        HOME: '/root',
        PATH: '/bin',
        HOSTNAME: 'vm',
        NODE_ENV: 'production',
        PWD: '/',
        DATABASE_PASS: 's',
        SORT: 'x',
        POST: 'x',
        HOSTS: 'x',
        LANG: 'C',
        TERM: 'xterm',
        USER: 'root',
      }),
    ).toEqual([]);
  });
});

// Guards against: PORT=-1 was told "must be a whole number" and 10^23 "must be at most 9007199254740991".
describe('whole-number settings', () => {
  it('say their range, one line whatever is wrong', () => {
    for (const bad of ['-1', '65536', '99999999999999999999999', '1.5', 'x']) {
      const lines = configErrorOf({ PORT: bad }).message.split('\n').slice(1);
      expect(lines, bad).toEqual([`  PORT: must be a whole number from 0 to 65535 (got "${bad}")`]);
    }
  });
});
