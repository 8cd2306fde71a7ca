// `npm start`: the API on PORT, on DATABASE_URL's PostgreSQL or an embedded one. Applies
// pending migrations, seeds a demo tenant on an empty database, listens, and on SIGTERM or
// SIGINT drains: readiness fails, in-flight requests finish, the pool closes, exit 0.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { basePath } from './contract.ts';
import { createDatabase } from './db/database.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.ts';
import { uuidv7 } from './ids.ts';
import { migrate, migrationsApplied, readMigrations } from './db/migrate.ts';
import { seedDemoIfEmpty } from './demo.ts';
import { trackConnections } from './http/drain.ts';
import { listen } from './http/server.ts';
import { deleteExpiredIdempotencyRecords } from './data/idempotency.ts';
import { createLogger } from './logger.ts';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`configuration error: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
const log = createLogger(config.logLevel);

let embedded: EmbeddedDatabase | undefined;
if (!config.databaseUrl) {
  embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPostgresPort, (m) => log.info(m));
}
const db = createDatabase({
  url: config.databaseUrl ?? embedded!.url,
  poolMax: config.dbPoolMax,
  poolWaitMs: config.dbPoolWaitMs,
  statementTimeoutMs: config.dbStatementTimeoutMs,
  onError: (error) => log.warn({ err: error }, 'an idle database connection failed; the pool replaces it'),
});

// A database that is still starting (a container booting beside us) gets a minute.
const migrations = await readMigrations();
for (let attempt = 1; ; attempt++) {
  try {
    const applied = await migrate(db.pool);
    if (applied.length) log.info({ applied }, 'applied migrations');
    break;
  } catch (error) {
    if (attempt >= 30) throw error;
    log.warn({ err: error, attempt }, 'database not ready for migrations; retrying in 2 s');
    await new Promise((r) => setTimeout(r, 2000));
  }
}

const demo = config.seedDemoOnEmpty ? await seedDemoIfEmpty(db.prisma) : undefined;

// Idempotency records live 24 hours; expired ones are removed every 10 minutes (by any
// instance: the deletes are idempotent, so several instances doing it do no harm).
const sweepIdempotencyRecords = setInterval(() => {
  deleteExpiredIdempotencyRecords(db.sql).then(
    (deleted) => deleted > 0 && log.info({ deleted }, 'deleted expired idempotency records'),
    (error: unknown) => log.warn({ err: error }, 'could not delete expired idempotency records; will retry'),
  );
}, 10 * 60_000);
sweepIdempotencyRecords.unref();

let shuttingDown = false;
const docsDir = fileURLToPath(new URL('../../docs/dist', import.meta.url));
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
  ready: async () => !shuttingDown && (await migrationsApplied(db.pool, migrations.length)),
});

const server = await listen(app, config.port, config.host);
const drain = trackConnections(server);
const { port } = server.address() as AddressInfo;
const origin = `http://localhost:${port}`;
log.info({ port, database: embedded ? 'embedded' : 'DATABASE_URL' }, `Deals API listening on ${origin}${basePath}`);

if (demo) {
  const department = demo.departments[0]!;
  process.stdout.write(
    [
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
      `    -d '{"name":"Example Dealname","volume":15000,"note":"Important enterprise customer","customers":[{"last_name":"Doe","first_name":"John"},{"last_name":"Doe","first_name":"Jane"}]}'`,
      '',
      `Docs: ${origin}/docs   Contract: ${origin}/openapi.yaml   More keys: npm run -s admin -- seed-demo --json`,
      '',
    ].join('\n') + '\n',
  );
}

async function shutdown(signal: string) {
  if (shuttingDown) return;
  shuttingDown = true;
  clearInterval(sweepIdempotencyRecords);
  log.info({ signal }, 'draining: readiness fails, in-flight requests finish');
  const force = setTimeout(() => {
    log.error('drain took longer than SHUTDOWN_GRACE_MS; exiting');
    process.exit(1);
  }, config!.shutdownGraceMs);
  force.unref();
  // Stops accepting connections and waits for in-flight requests (see http/drain.ts).
  await drain();
  await db.close();
  await embedded?.stop();
  log.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
