// The server's configuration: read from the environment once, validated, then passed down.
// Nothing else reads process.env.
import { fileURLToPath } from 'node:url';
import express from 'express';

export type Config = {
  port: number;
  host: string | undefined;
  /** Unset: an embedded PostgreSQL with its data in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPostgresPort: number;
  rateLimitPerSecond: number;
  /** Unknown or revoked keys per client address per minute before the address gets 429 (0: no limit). */
  authFailuresPerMinute: number;
  /** Express's `trust proxy`: which proxies' X-Forwarded-For tells the client address. */
  trustProxy: TrustProxy;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  dbPoolMax: number;
  /** How long a request waits for a pooled connection before it gets 503. */
  dbPoolWaitMs: number;
  dbStatementTimeoutMs: number;
  /** How long an API key lookup is cached: revocation takes effect within this time. */
  keyCacheTtlMs: number;
  shutdownGraceMs: number;
  seedDemoOnEmpty: boolean;
  /** Apply pending migrations at start; false when a release step (`npm run migrate`) does. */
  migrateOnStart: boolean;
  /** Validate every response against the contract (tests turn this on). */
  validateResponses: boolean;
  /** How long events are kept (GET /events, replay); at least 30 days. */
  eventRetentionDays: number;
  /**
   * Base64 of 32 bytes sealing webhook signing secrets. Unset: a key file is created beside
   * the embedded database's data (`<DATA_DIR>/webhook-encryption.key`) and reused.
   */
  webhookEncryptionKey: string | undefined;
  /** Local development and tests: allow `http` and non-public addresses as webhook URLs. */
  webhookAllowPrivateNetworks: boolean;
  /** Run the webhook delivery worker in this process (`npm run worker` runs it alone). */
  webhookWorker: boolean;
  /** How long a webhook delivery may take before it counts as a timeout. */
  webhookTimeoutMs: number;
};

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** What Express's `trust proxy` accepts: on/off, a number of hops, or addresses and subnets. */
export type TrustProxy = boolean | number | string[];

function trustProxy(env: NodeJS.ProcessEnv): TrustProxy {
  const raw = env.TRUST_PROXY?.trim();
  if (!raw || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return int(env, 'TRUST_PROXY', 0, 0, 100);
  const list = raw.split(',').map((entry) => entry.trim());
  try {
    // Express compiles the setting when it is set, and throws on what it does not accept.
    express().set('trust proxy', list);
  } catch (error) {
    throw new ConfigError(
      `TRUST_PROXY must be true, false, a number of proxies, or comma-separated addresses, subnets, loopback, linklocal or uniquelocal (${(error as Error).message})`,
    );
  }
  return list;
}

function encryptionKey(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.WEBHOOK_ENCRYPTION_KEY?.trim();
  if (!raw) return undefined;
  if (!/^[A-Za-z0-9+/]{43}=$/.test(raw)) {
    throw new ConfigError('WEBHOOK_ENCRYPTION_KEY must be the base64 of 32 bytes (openssl rand -base64 32)');
  }
  return raw;
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** loadConfig for a process entry point: an invalid configuration exits 2 with the message. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`configuration error: ${error.message}`);
    process.exit(2);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL || 'info';
  if (!(logLevels as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${logLevels.join(', ')}, got "${logLevel}"`);
  }
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  return {
    port: int(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || undefined,
    databaseUrl,
    dataDir: env.DATA_DIR || `${repoRoot}.data`,
    embeddedPostgresPort: int(env, 'EMBEDDED_PG_PORT', 54329, 1, 65535),
    rateLimitPerSecond: int(env, 'RATE_LIMIT_PER_SECOND', 100, 0, 1_000_000),
    authFailuresPerMinute: int(env, 'AUTH_FAILURES_PER_MINUTE', 20, 0, 1_000_000),
    trustProxy: trustProxy(env),
    logLevel: logLevel as Config['logLevel'],
    dbPoolMax: int(env, 'DB_POOL_MAX', 10, 1, 1000),
    dbPoolWaitMs: int(env, 'DB_POOL_WAIT_MS', 2000, 1, 60_000),
    dbStatementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 5000, 1, 600_000),
    keyCacheTtlMs: int(env, 'KEY_CACHE_TTL_MS', 5000, 0, 5000),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    seedDemoOnEmpty: bool(env, 'SEED_DEMO_ON_EMPTY', true),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', true),
    validateResponses: bool(env, 'VALIDATE_RESPONSES', false),
    eventRetentionDays: int(env, 'EVENT_RETENTION_DAYS', 30, 30, 3650),
    webhookEncryptionKey: encryptionKey(env),
    webhookAllowPrivateNetworks: bool(env, 'WEBHOOK_ALLOW_PRIVATE_NETWORKS', false),
    webhookWorker: bool(env, 'WEBHOOK_WORKER', true),
    webhookTimeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 15_000, 100, 60_000),
  };
}
