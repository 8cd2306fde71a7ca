// What the webhook-endpoint operations need besides the database: the box that seals signing
// secrets, the rule for which URLs may receive deliveries, the delivery timeout, and a way to
// nudge this process's delivery worker when a request has queued deliveries (redeliver,
// recover) so they go out now rather than at the worker's next poll.
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { loadOrCreateKeyFile, type SecretBox, secretBox } from './secret-box.ts';
import type { AddressPolicy } from './ssrf.ts';

export type WebhookServices = {
  secrets: SecretBox;
  urlPolicy: AddressPolicy;
  /** How long one delivery (and a test send) may take. */
  timeoutMs: number;
  /** Nudges the local delivery worker; a no-op where none runs. */
  wake(): void;
};

/** The key file `npm start` keeps with the embedded database's data when WEBHOOK_ENCRYPTION_KEY is unset. */
export const keyFilePath = (dataDir: string): string => join(dataDir, 'webhook-encryption.key');

/** The services as configured: WEBHOOK_ENCRYPTION_KEY, or the key file beside the data. */
export async function webhookServices(config: Config, wake: () => void = () => {}): Promise<WebhookServices> {
  const key = config.webhookEncryptionKey ?? (await loadOrCreateKeyFile(keyFilePath(config.dataDir)));
  return {
    secrets: secretBox(key),
    urlPolicy: { allowPrivateNetworks: config.webhookAllowPrivateNetworks },
    timeoutMs: config.webhookTimeoutMs,
    wake,
  };
}
