// The delivery worker as a server process runs it (start.ts, and `npm run worker` alone):
// configured from Config, with the WebhookServices the API's operations use, whose wake()
// nudges this worker. Every worker, here or elsewhere, is also woken by the NOTIFY that the
// statements queueing deliveries send at commit, so without a local worker wake() does nothing.
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import { type WebhookServices, webhookServices } from '../services.ts';
import { type DeliveryWorker, startDeliveryWorker } from './delivery-worker.ts';

export type Webhooks = { services: WebhookServices; worker: DeliveryWorker | undefined };

export async function startWebhooks(config: Config, db: Database, databaseUrl: string, log: Logger, runWorker: boolean): Promise<Webhooks> {
  let worker: DeliveryWorker | undefined;
  const services = await webhookServices(config, () => worker?.wake());
  if (config.databaseUrl && !config.webhookEncryptionKey) {
    // Other processes on this database (another host, a container restarted without the
    // volume) would not have this file's key and could neither send nor rotate secrets.
    log.warn(
      'WEBHOOK_ENCRYPTION_KEY is unset: webhook secrets are sealed with a key file in DATA_DIR; set WEBHOOK_ENCRYPTION_KEY to the same value in every process that uses this database',
    );
  }
  if (runWorker) {
    worker = startDeliveryWorker({
      sql: db.sql,
      listenUrl: databaseUrl,
      log,
      box: services.secrets,
      policy: services.urlPolicy,
      timeoutMs: services.timeoutMs,
      // Sends still running when the shutdown grace is nearly over are cut off by the exit:
      // their leases are given back first, so another process sends them at once.
      drainMs: Math.max(0, Math.min(services.timeoutMs + 1000, config.shutdownGraceMs - 2000)),
    });
  }
  return { services, worker };
}
