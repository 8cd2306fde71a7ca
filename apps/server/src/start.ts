// The server as a function: `start(config)` opens the database (DATABASE_URL's PostgreSQL or
// an embedded one), applies pending migrations unless MIGRATE_ON_START=false, seeds a demo
// tenant on an empty database, listens, and resolves with the listening server and `close()`,
// which drains: readiness fails, in-flight requests finish, the pool closes. main.ts runs it
// as `npm start` and wires the signals; tests that only need a running server call it
// in-process.
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { DestinationStream, Logger } from 'pino';
import type { DemoTenant } from './admin/tenancy.ts';
import { createApp } from './app.ts';
import type { Config } from './config.ts';
import { basePath, requestExample } from './contract.ts';
import { deleteExpiredEvents } from './data/events.ts';
import { deleteExpiredIdempotencyRecords } from './data/idempotency.ts';
import { createDatabase, type Database } from './db/database.ts';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './db/embedded.ts';
import { migrate, pendingMigrations, readMigrations } from './db/migrate.ts';
import { seedDemoIfEmpty } from './demo.ts';
import { trackConnections } from './http/drain.ts';
import { listen } from './http/server.ts';
import { uuidv7 } from './ids.ts';
import { createLogger } from './logger.ts';
import { startWebhooks, type Webhooks } from './webhooks/worker/in-process.ts';

export type StartOptions = {
  /** Where the JSON log lines go (default stdout); tests pass a stream to read them. */
  logDestination?: DestinationStream;
  /** Where the demo tenant's key and curl are printed (default stdout). */
  print?: (text: string) => void;
};

export type RunningServer = {
  server: Server;
  /** The port it listens on (PORT=0 picks a free one). */
  port: number;
  log: Logger;
  /** Drains and stops; resolves when every connection, the pool and an embedded PostgreSQL this call started are closed. */
  close(): Promise<void>;
};

// From src/ and from the compiled dist/ alike: apps/docs/dist.
const docsDir = fileURLToPath(new URL('../../docs/dist', import.meta.url));

const SWEEP_MS = 10 * 60_000;

export async function start(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = createLogger(config.logLevel, options.logDestination);
  const print = options.print ?? ((text: string) => void process.stdout.write(text));

  let embedded: EmbeddedDatabase | undefined;
  if (!config.databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPostgresPort, (m) => log.info(m));
  }
  const databaseUrl = config.databaseUrl ?? embedded!.url;
  const db = createDatabase({
    url: databaseUrl,
    poolMax: config.dbPoolMax,
    poolWaitMs: config.dbPoolWaitMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    onError: (error) => log.warn({ err: error }, 'an idle database connection failed; the pool replaces it'),
  });

  let server: Server;
  let draining = false;
  let demo: DemoTenant | undefined;
  let webhooks: Webhooks | undefined;
  try {
    const migrations = await readMigrations();
    let pending: string[] = [];
    if (config.migrateOnStart) {
      await migrateWhenReachable(db.pool, log);
    } else {
      pending = await pendingMigrations(db.pool, migrations).catch(() => migrations.map((m) => m.name));
      if (pending.length) {
        log.warn(
          { pending },
          'MIGRATE_ON_START=false and migrations are pending: /readyz answers 503 until `npm run migrate` has applied them',
        );
      }
    }
    // Seeding writes tables that a pending migration may not have created yet.
    demo = config.seedDemoOnEmpty && pending.length === 0 ? await seedDemoIfEmpty(db) : undefined;
    // The delivery worker runs in every server process unless WEBHOOK_WORKER=false (then
    // `npm run worker` runs it alone); its rounds fail and retry until migrations are applied.
    webhooks = await startWebhooks(config, db, databaseUrl, log, config.webhookWorker);

    const app = createApp({
      db,
      log,
      newId: uuidv7,
      rateLimitPerSecond: config.rateLimitPerSecond,
      authFailuresPerMinute: config.authFailuresPerMinute,
      trustProxy: config.trustProxy,
      keyCacheTtlMs: config.keyCacheTtlMs,
      validateResponses: config.validateResponses,
      docsDir: existsSync(docsDir) ? docsDir : undefined,
      ready: async () => !draining && (await pendingMigrations(db.pool, migrations)).length === 0,
      webhooks: webhooks.services,
    });
    server = await listen(app, config.port, config.host);
  } catch (error) {
    await webhooks?.worker?.close();
    await db.close();
    await embedded?.stop();
    throw error;
  }

  const drain = trackConnections(server);
  const sweep = sweepExpiredRecords(db, log, config.eventRetentionDays);
  const { port } = server.address() as AddressInfo;
  const origin = `http://localhost:${port}`;
  log.info({ port, database: embedded ? 'embedded' : 'DATABASE_URL' }, `Deals API listening on ${origin}${basePath}`);
  if (demo) print(demoBanner(demo, origin));

  let closed: Promise<void> | undefined;
  return {
    server,
    port,
    log,
    close() {
      closed ??= (async () => {
        draining = true;
        clearInterval(sweep);
        // Stops accepting connections and waits for in-flight requests (see http/drain.ts);
        // meanwhile the worker stops claiming, finishes its sends and gives back unsent leases.
        await Promise.all([drain(), webhooks?.worker?.close()]);
        await db.close();
        await embedded?.stop();
        log.info('stopped');
      })();
      return closed;
    },
  };
}

/** A database that is still starting (a container booting beside us) gets a minute. */
export async function migrateWhenReachable(pool: pg.Pool, log: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const applied = await migrate(pool);
      if (applied.length) log.info({ applied }, 'applied migrations');
      return;
    } catch (error) {
      if (attempt >= 30) throw error;
      log.warn({ err: error, attempt }, 'database not ready for migrations; retrying in 2 s');
      await sleep(2000);
    }
  }
}

// Idempotency records live 24 hours and events EVENT_RETENTION_DAYS; expired ones are removed
// every 10 minutes (by any instance: the deletes are idempotent, so several instances doing it
// do no harm).
function sweepExpiredRecords(db: Database, log: Logger, eventRetentionDays: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    deleteExpiredIdempotencyRecords(db.sql).then(
      (deleted) => deleted > 0 && log.info({ deleted }, 'deleted expired idempotency records'),
      (error: unknown) => log.warn({ err: error }, 'could not delete expired idempotency records; will retry'),
    );
    deleteExpiredEvents(db.sql, eventRetentionDays).then(
      (deleted) => deleted > 0 && log.info({ deleted }, 'deleted expired events and their webhook deliveries'),
      (error: unknown) => log.warn({ err: error }, 'could not delete expired events; will retry'),
    );
  }, SWEEP_MS);
  timer.unref();
  return timer;
}

function demoBanner(demo: DemoTenant, origin: string): string {
  const department = demo.departments[0]!;
  return [
    '',
    'A demo tenant was created on this empty database (its key is shown only this once):',
    `  X-Api-Key:       ${demo.api_key}`,
    `  X-Department-Id: ${department.id}   (${department.name})`,
    '',
    'Try the reference request:',
    `  curl -X POST ${origin}${basePath}/deals \\`,
    `    -H "X-Api-Key: ${demo.api_key}" \\`,
    `    -H "X-Department-Id: ${department.id}" \\`,
    `    -H "Content-Type: application/json" \\`,
    // The reference page's request, as the contract's `reference` example states it.
    `    -d '${JSON.stringify(requestExample('/deals', 'post', 'reference'))}'`,
    '',
    `Docs: ${origin}/docs   Contract: ${origin}/openapi.yaml   More keys: npm run -s admin -- seed-demo --json`,
    '',
    '',
  ].join('\n');
}
