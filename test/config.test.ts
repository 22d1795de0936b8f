import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

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

  it('ignores variables it does not know', () => {
    expect(loadConfig({ HOME: '/root', NODE_ENV: 'production' })).toEqual(loadConfig({}));
  });

  it('reads valid overrides', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_PATH: '/var/lib/kb/kb.sqlite',
      LOG_LEVEL: 'warn',
      CORS_ORIGINS: 'https://hr.example, https://app.example',
      SHUTDOWN_GRACE_MS: '2500',
    });
    expect(config).toEqual({
      port: 8080,
      host: '0.0.0.0',
      databasePath: '/var/lib/kb/kb.sqlite',
      logLevel: 'warn',
      corsOrigins: ['https://hr.example', 'https://app.example'],
      shutdownGraceMs: 2500,
    });
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
