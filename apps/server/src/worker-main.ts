// `npm run worker`: the webhook delivery worker alone, without the API. For deployments that
// run the API with WEBHOOK_WORKER=false and scale delivery separately; any number of workers
// and servers share the queue. Same database rules as `npm start` (DATABASE_URL, else the
// embedded PostgreSQL, reused if a server already runs it; migrations unless
// MIGRATE_ON_START=false). SIGTERM or SIGINT: stops claiming, lets sends in flight finish,
// gives back unsent leases, exits 0 (1 past SHUTDOWN_GRACE_MS).
import { loadConfigOrExit } from './config.ts';
import { createDatabase } from './db/database.ts';
import { startEmbeddedPostgres } from './db/embedded.ts';
import { createLogger } from './logger.ts';
import { drainOnSignals } from './shutdown.ts';
import { migrateWhenReachable } from './start.ts';
import { startWebhooks } from './webhooks/worker/in-process.ts';

const config = loadConfigOrExit();
const log = createLogger(config.logLevel).child({ process: 'webhook-worker' });

async function run() {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres(config.dataDir, config.embeddedPostgresPort, (m) => log.info(m));
  const url = config.databaseUrl ?? embedded!.url;
  // A few connections: dispatch, claim and record statements are short, and batched.
  const db = createDatabase({
    url,
    poolMax: Math.min(config.dbPoolMax, 4),
    poolWaitMs: config.dbPoolWaitMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    onError: (error) => log.warn({ err: error }, 'an idle database connection failed; the pool replaces it'),
  });
  if (config.migrateOnStart) await migrateWhenReachable(db.pool, log);
  const { worker } = await startWebhooks(config, db, url, log, true);
  log.info({ worker: worker!.id, database: embedded ? 'embedded' : 'DATABASE_URL' }, 'webhook worker running');
  return async () => {
    await worker!.close();
    await db.close();
    await embedded?.stop();
  };
}

const starting = run();
drainOnSignals(starting, config.shutdownGraceMs, async (close, signal) => {
  log.info({ signal }, 'draining: no new claims, sends in flight finish');
  await close();
});
await starting;
