// loadConfig: the documented defaults, and for each invalid value a ConfigError that names the
// variable, what it accepts and what it got (main.ts prints it and exits 2). Settings are
// checked one by one, never as a whole object, so a new setting does not break these tests.
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

function refusal(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  describe('defaults (the README configuration table)', () => {
    it('with nothing set', () => {
      const config = loadConfig({});
      expect(config).toMatchObject({
        port: 3000,
        host: undefined,
        databaseUrl: undefined,
        embeddedPostgresPort: 54329,
        rateLimitPerSecond: 100,
        logLevel: 'info',
        dbPoolMax: 10,
        dbPoolWaitMs: 2000,
        dbStatementTimeoutMs: 5000,
        keyCacheTtlMs: 5000,
        shutdownGraceMs: 10_000,
        seedDemoOnEmpty: true,
        validateResponses: false,
        eventRetentionDays: 30,
        webhookEncryptionKey: undefined,
        webhookAllowPrivateNetworks: false,
        webhookWorker: true,
        webhookTimeoutMs: 15_000,
      });
      // `.data` at the repository root, wherever the server is started from.
      expect(config.dataDir).toMatch(/[/\\]\.data$/);
      expect(config.dataDir).not.toMatch(/apps[/\\]server/);
    });

    it('an empty value is the default, as an unset one', () => {
      const empty = { PORT: '', HOST: '', DATABASE_URL: '', DATA_DIR: '', LOG_LEVEL: '', DB_POOL_MAX: '', SEED_DEMO_ON_EMPTY: '' };
      expect(loadConfig(empty)).toEqual(loadConfig({}));
    });

    it('reads only the environment it is given', () => {
      vi.stubEnv('PORT', '1234');
      try {
        expect(loadConfig({}).port).toBe(3000);
        expect(loadConfig().port).toBe(1234);
      } finally {
        vi.unstubAllEnvs();
      }
    });
  });

  describe('values', () => {
    it('reads each documented variable', () => {
      const config = loadConfig({
        PORT: '8080',
        HOST: '127.0.0.1',
        DATABASE_URL: 'postgresql://deals:secret@db.internal:5432/deals',
        DATA_DIR: '/var/lib/deals',
        EMBEDDED_PG_PORT: '15432',
        RATE_LIMIT_PER_SECOND: '0',
        LOG_LEVEL: 'silent',
        DB_POOL_MAX: '50',
        DB_POOL_WAIT_MS: '250',
        DB_STATEMENT_TIMEOUT_MS: '60000',
        KEY_CACHE_TTL_MS: '0',
        SHUTDOWN_GRACE_MS: '0',
        SEED_DEMO_ON_EMPTY: 'false',
        VALIDATE_RESPONSES: 'true',
      });
      expect(config).toMatchObject({
        port: 8080,
        host: '127.0.0.1',
        databaseUrl: 'postgresql://deals:secret@db.internal:5432/deals',
        dataDir: '/var/lib/deals',
        embeddedPostgresPort: 15432,
        rateLimitPerSecond: 0,
        logLevel: 'silent',
        dbPoolMax: 50,
        dbPoolWaitMs: 250,
        dbStatementTimeoutMs: 60_000,
        keyCacheTtlMs: 0,
        shutdownGraceMs: 0,
        seedDemoOnEmpty: false,
        validateResponses: true,
      });
    });

    it('takes postgres:// as well as postgresql://', () => {
      expect(loadConfig({ DATABASE_URL: 'postgres://localhost/deals' }).databaseUrl).toBe('postgres://localhost/deals');
    });

    it.each([
      ['true', true],
      ['1', true],
      ['false', false],
      ['0', false],
    ])('a switch set to %j is %s', (raw, value) => {
      expect(loadConfig({ SEED_DEMO_ON_EMPTY: raw, VALIDATE_RESPONSES: raw })).toMatchObject({
        seedDemoOnEmpty: value,
        validateResponses: value,
      });
    });

    it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])('LOG_LEVEL %s', (level) => {
      expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    });

    it('AUTH_FAILURES_PER_MINUTE: 20 by default, 0 turns the limit off', () => {
      expect(loadConfig({}).authFailuresPerMinute).toBe(20);
      expect(loadConfig({ AUTH_FAILURES_PER_MINUTE: '0' }).authFailuresPerMinute).toBe(0);
    });

    it.each([
      [undefined, false],
      ['false', false],
      ['true', true],
      ['2', 2],
      [' loopback, 10.0.0.0/8 ,192.168.1.7', ['loopback', '10.0.0.0/8', '192.168.1.7']],
    ])('TRUST_PROXY=%j is %j', (raw, value) => {
      expect(loadConfig(raw === undefined ? {} : { TRUST_PROXY: raw }).trustProxy).toEqual(value);
    });

    it('MIGRATE_ON_START: on by default, off for a release step', () => {
      expect(loadConfig({}).migrateOnStart).toBe(true);
      expect(loadConfig({ MIGRATE_ON_START: 'false' }).migrateOnStart).toBe(false);
    });

    it('takes the bounds of each range', () => {
      expect(loadConfig({ PORT: '0', KEY_CACHE_TTL_MS: '5000', DB_POOL_MAX: '1000' })).toMatchObject({
        port: 0,
        keyCacheTtlMs: 5000,
        dbPoolMax: 1000,
      });
      expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
    });
  });

  describe('ConfigError for an invalid value, naming the variable, the rule and the value', () => {
    it.each([
      ['PORT', 'http', 'PORT must be an integer from 0 to 65535, got "http"'],
      ['PORT', '65536', 'PORT must be an integer from 0 to 65535, got "65536"'],
      ['PORT', '80.5', 'PORT must be an integer from 0 to 65535, got "80.5"'],
      ['PORT', '-1', 'PORT must be an integer from 0 to 65535, got "-1"'],
      ['EMBEDDED_PG_PORT', '0', 'EMBEDDED_PG_PORT must be an integer from 1 to 65535, got "0"'],
      ['RATE_LIMIT_PER_SECOND', 'lots', 'RATE_LIMIT_PER_SECOND must be an integer from 0 to 1000000, got "lots"'],
      ['DB_POOL_MAX', '0', 'DB_POOL_MAX must be an integer from 1 to 1000, got "0"'],
      ['DB_POOL_WAIT_MS', '0', 'DB_POOL_WAIT_MS must be an integer from 1 to 60000, got "0"'],
      ['DB_STATEMENT_TIMEOUT_MS', '5s', 'DB_STATEMENT_TIMEOUT_MS must be an integer from 1 to 600000, got "5s"'],
      // Revocation takes effect within the cache time: it may not be set longer.
      ['KEY_CACHE_TTL_MS', '5001', 'KEY_CACHE_TTL_MS must be an integer from 0 to 5000, got "5001"'],
      ['SHUTDOWN_GRACE_MS', '600001', 'SHUTDOWN_GRACE_MS must be an integer from 0 to 600000, got "600001"'],
      ['SEED_DEMO_ON_EMPTY', 'yes', 'SEED_DEMO_ON_EMPTY must be true or false, got "yes"'],
      ['VALIDATE_RESPONSES', 'TRUE', 'VALIDATE_RESPONSES must be true or false, got "TRUE"'],
      ['LOG_LEVEL', 'verbose', 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
      ['DATABASE_URL', 'mysql://localhost/deals', 'DATABASE_URL must be a postgres:// or postgresql:// URL'],
      ['DATABASE_URL', 'localhost:5432', 'DATABASE_URL must be a postgres:// or postgresql:// URL'],
      // Events are the sync's promise for at least 30 days (issue #7).
      ['EVENT_RETENTION_DAYS', '29', 'EVENT_RETENTION_DAYS must be an integer from 30 to 3650, got "29"'],
      ['WEBHOOK_TIMEOUT_MS', '50', 'WEBHOOK_TIMEOUT_MS must be an integer from 100 to 60000, got "50"'],
      ['WEBHOOK_WORKER', 'on', 'WEBHOOK_WORKER must be true or false, got "on"'],
      // Never echoed: a key of the wrong length may still be most of a real one.
      ['WEBHOOK_ENCRYPTION_KEY', 'c2hvcnQ=', 'WEBHOOK_ENCRYPTION_KEY must be the base64 of 32 bytes (openssl rand -base64 32)'],
    ])('%s=%j', (name, raw, message) => {
      const error = refusal({ [name]: raw });
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(message);
    });

    it.each([
      ['AUTH_FAILURES_PER_MINUTE', '-1', 'AUTH_FAILURES_PER_MINUTE must be an integer from 0 to 1000000, got "-1"'],
      ['TRUST_PROXY', '101', 'TRUST_PROXY must be an integer from 0 to 100, got "101"'],
      ['MIGRATE_ON_START', 'never', 'MIGRATE_ON_START must be true or false, got "never"'],
    ])('%s=%j', (name, raw, message) => {
      expect(refusal({ [name]: raw }).message).toBe(message);
    });

    it('TRUST_PROXY that is not an address, subnet or name of one', () => {
      for (const raw of ['10.0.0.0/99', 'my-load-balancer', 'yes']) {
        expect(refusal({ TRUST_PROXY: raw }).message).toMatch(
          /^TRUST_PROXY must be true, false, a number of proxies, or comma-separated addresses, subnets, loopback, linklocal or uniquelocal \(/,
        );
      }
    });

    it('never echoes a DATABASE_URL, which may hold a password', () => {
      expect(refusal({ DATABASE_URL: 'mysql://root:hunter2@db/deals' }).message).not.toContain('hunter2');
    });
  });
});
