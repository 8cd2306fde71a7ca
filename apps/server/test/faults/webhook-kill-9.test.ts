// kill -9 of a server process while it is delivering webhooks: deliveries it had leased and
// not recorded become due when their leases run out, and another process sends them. Every
// event reaches the receiver at least once; a redelivery after the crash is allowed (the
// receiver deduplicates by webhook-id), a lost event is not.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { referenceRequest } from '../support/fixtures.ts';
import type { MainProcess } from '../support/process.ts';
import { type Receiver, startReceiver, verifies } from '../webhook-delivery/support.ts';
import { api, seedTenant, send, startApi, stopApi, type Tenant, until } from './support.ts';

const DEALS = 30; // 3 events each: two new customers and the deal
// A short attempt timeout keeps the leases short (2 × timeout + 5 s): the test waits one out.
const env = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  WEBHOOK_TIMEOUT_MS: '2000',
};

let database: TestDatabase;
let tenant: Tenant;
let receiver: Receiver;
const processes: MainProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  tenant = await seedTenant(database.url);
  receiver = await startReceiver();
});
afterAll(async () => {
  for (const p of processes) await stopApi(p);
  await receiver?.close();
  await database?.drop();
});

describe('kill -9 of a server process mid-delivery', () => {
  it('every event is still delivered, at least once', async () => {
    const first = await startApi(database.url, env);
    processes.push(first);
    const created = await send(first.origin, 'POST', `${api}/webhook-endpoints`, {
      tenant,
      body: { url: receiver.url, enabled_events: ['*'] },
    });
    expect(created.status, created.text).toBe(201);
    const { secret } = JSON.parse(created.text!) as { secret: string };

    // The receiver is slow, so deliveries are in flight (up to the endpoint's 10) when the kill comes.
    receiver.always({ status: 200, delayMs: 400 });
    for (let i = 0; i < DEALS; i++) {
      const reply = await send(first.origin, 'POST', `${api}/deals`, { tenant, body: referenceRequest });
      expect(reply.status).toBe(201);
    }
    await until('deliveries in flight', () => receiver.received.length >= 10 && receiver.inFlight() > 0, 30_000, 10);
    const inFlightAtKill = receiver.inFlight();
    const receivedAtKill = receiver.received.length;
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      const { rows: events } = await sql.query<{ id: string }>('SELECT id FROM events WHERE tenant_id = $1', [tenant.tenantId]);
      expect(events).toHaveLength(3 * DEALS);
      // Not everything had been sent: the rest, and the leased ones, are the second process's work.
      expect(receivedAtKill).toBeLessThan(events.length);

      receiver.always({ status: 200 });
      const second = await startApi(database.url, env);
      processes.push(second);
      const expected = new Set(events.map((e) => e.id));
      const seen = () => new Set(receiver.received.map((r) => r.webhookId));
      await until('every event at the receiver', () => [...expected].every((id) => seen().has(id)), 60_000, 100);
      await until(
        'every delivery recorded as succeeded',
        async () =>
          (
            await sql.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE tenant_id = $1 AND status = 'succeeded'`, [
              tenant.tenantId,
            ])
          ).rows[0].n === expected.size,
        30_000,
        100,
      );

      expect(inFlightAtKill).toBeGreaterThan(0);
      expect(receiver.received.every((r) => verifies(secret, r))).toBe(true);
      expect(new Set([...seen()].filter((id) => !expected.has(id)))).toEqual(new Set());
      const redelivered = receiver.received.length - expected.size;
      // Only what the crash interrupted may come twice: the sends in flight, at most the endpoint's 10.
      expect(redelivered).toBeLessThanOrEqual(10);
      console.info(
        `webhook kill -9: ${inFlightAtKill} in flight at the kill, ${receivedAtKill} received before it, ${redelivered} redelivered`,
      );
    } finally {
      await sql.end();
    }
  }, 150_000);
});
