// The real app on an ephemeral 127.0.0.1 port, on this test file's own database, with every
// response validated against the contract.
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { type AppDeps, createApp } from '../../src/app.ts';
import { basePath } from '../../src/contract.ts';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { listen } from '../../src/http/server.ts';
import { uuidv7 } from '../../src/ids.ts';
import { secretBox } from '../../src/webhooks/secret-box.ts';
import type { WebhookServices } from '../../src/webhooks/services.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export type TestServer = {
  origin: string;
  baseUrl: string;
  db: Database;
  database: TestDatabase;
  close(): Promise<void>;
};

export type ListeningApp = { origin: string; baseUrl: string; close(): Promise<void> };

/** A fixed key for tests: what it seals is still never the plaintext. */
export const TEST_WEBHOOK_KEY = Buffer.alloc(32, 7).toString('base64');

/**
 * Webhook services for tests: the fixed key, private networks allowed (receivers listen on
 * 127.0.0.1), a short timeout, and no worker to wake unless a test passes one.
 */
export function testWebhookServices(overrides: Partial<WebhookServices> = {}): WebhookServices {
  return {
    secrets: secretBox(TEST_WEBHOOK_KEY),
    urlPolicy: { allowPrivateNetworks: true },
    timeoutMs: 2000,
    wake: () => {},
    ...overrides,
  };
}

/** The real app on `db`, listening on an ephemeral 127.0.0.1 port; closing it leaves `db` open. */
export async function listenTestApp(db: Database, overrides: Partial<AppDeps> = {}): Promise<ListeningApp> {
  const app = createApp({
    db,
    log: pino({ level: 'silent' }),
    newId: uuidv7,
    rateLimitPerSecond: 0,
    authFailuresPerMinute: 0,
    keyCacheTtlMs: 0,
    validateResponses: true,
    ready: async () => true,
    webhooks: testWebhookServices(),
    ...overrides,
  });
  const server = await listen(app, 0, '127.0.0.1');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    baseUrl: origin + basePath,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function startTestServer(overrides: Partial<AppDeps> = {}, poolMax = 5): Promise<TestServer> {
  const database = await createTestDatabase();
  // A generous wait for a connection: on two cores shared by parallel test files, a setup burst
  // waited over a second and got 503 (tests of 503 itself build their own pool).
  const db = createDatabase({ url: database.url, poolMax, poolWaitMs: 5000, statementTimeoutMs: 5000 });
  const app = await listenTestApp(db, overrides);
  return {
    origin: app.origin,
    baseUrl: app.baseUrl,
    db,
    database,
    async close() {
      await app.close();
      await db.close();
      await database.drop();
    },
  };
}
