// Two server processes on one database, both running the delivery worker (the default): the
// writes land on either, either dispatches, both claim. Without a crash no event reaches an
// endpoint twice. SIGTERM of a process with deliveries in flight finishes them (recorded, not
// sent again by the other process) and exits 0.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import type { MainProcess } from '../support/process.ts';
import { type Receiver, startReceiver, verifies } from '../webhook-delivery/support.ts';
import { api, seedTenant, send, startApi, stopApi, type Tenant, until } from './support.ts';

const CUSTOMERS = 150;
const env = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  WEBHOOK_TIMEOUT_MS: '5000',
};

let database: TestDatabase;
let tenant: Tenant;
let a: MainProcess;
let b: MainProcess;
let sql: pg.Client;
const receivers: Receiver[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  tenant = await seedTenant(database.url);
  [a, b] = await Promise.all([startApi(database.url, env), startApi(database.url, env)]);
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await Promise.all([stopApi(a), stopApi(b)]);
  for (const r of receivers) await r.close();
  await database?.drop();
});

async function endpointFor(receiver: Receiver): Promise<string> {
  const created = await send(a.origin, 'POST', `${api}/webhook-endpoints`, { tenant, body: { url: receiver.url, enabled_events: ['*'] } });
  expect(created.status, created.text).toBe(201);
  return (JSON.parse(created.text!) as { secret: string }).secret;
}

const customer = (i: number) => ({
  first_name: 'Ada',
  last_name: `Two-${i}`,
  email: `ada.${i}.${randomBytes(3).toString('hex')}@example.com`,
});

const countWhere = async (condition: string) =>
  (await sql.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE tenant_id = $1 AND ${condition}`, [tenant.tenantId])).rows[0]
    .n as number;

describe('two server processes delivering from one queue', () => {
  it('every event reaches each endpoint exactly once', async () => {
    const one = await startReceiver();
    const two = await startReceiver();
    receivers.push(one, two);
    const secrets = [await endpointFor(one), await endpointFor(two)];
    // Slow enough that leases are seen: which workers hold them is sampled while they deliver.
    one.always({ status: 200, delayMs: 20 });
    two.always({ status: 200, delayMs: 20 });
    const holders = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await sql.query<{ pid: string }>(
          `SELECT DISTINCT split_part(leased_by, ':', 2) AS pid FROM webhook_deliveries WHERE tenant_id = $1 AND leased_by IS NOT NULL`,
          [tenant.tenantId],
        );
        for (const r of rows) holders.add(r.pid);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    // Writes alternate between the processes, a few at a time, so both dispatch and both claim.
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < CUSTOMERS; i++) {
      const target = i % 2 ? b : a;
      writes.push(
        send(target.origin, 'POST', `${api}/customers`, { tenant, body: customer(i) }).then((r) => expect(r.status, r.text).toBe(201)),
      );
      if (writes.length >= 6) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    await until('every delivery recorded', async () => (await countWhere(`status = 'succeeded'`)) === 2 * CUSTOMERS, 60_000, 100);
    sampling = false;
    await sampler;

    const { rows: events } = await sql.query<{ id: string }>('SELECT id FROM events WHERE tenant_id = $1', [tenant.tenantId]);
    expect(events).toHaveLength(CUSTOMERS);
    const expected = events.map((e) => e.id).sort();
    for (const [i, receiver] of [one, two].entries()) {
      expect(receiver.received.map((r) => r.webhookId).sort()).toEqual(expected);
      expect(receiver.received.every((r) => verifies(secrets[i]!, r))).toBe(true);
    }
    // Both processes held leases: the claims really were shared. One attempt each, none lost.
    expect([...holders].sort()).toEqual([String(a.child.pid), String(b.child.pid)].sort());
    expect(await countWhere('attempt_count <> 1')).toBe(0);
  }, 120_000);

  it('SIGTERM finishes the deliveries in flight: recorded once, not sent again by the other process', async () => {
    const slow = await startReceiver();
    receivers.push(slow);
    const secret = await endpointFor(slow);
    slow.always({ status: 200, delayMs: 1500 });
    // More than one process may lease for one endpoint (4 × its max_concurrency of 10): the
    // first process gets some of these whoever dispatches them.
    for (let i = 0; i < 60; i++) {
      const r = await send(b.origin, 'POST', `${api}/customers`, { tenant, body: customer(1000 + i) });
      expect(r.status).toBe(201);
    }
    const pid = a.child.pid!;
    const leasedByA = () =>
      sql
        .query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE tenant_id = $1 AND status = 'pending' AND leased_by LIKE $2`, [
          tenant.tenantId,
          `%:${pid}:%`,
        ])
        .then((r) => r.rows[0].n as number);
    await until('a delivery in flight in the first process', async () => (await leasedByA()) > 0, 30_000, 20);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    // What it had leased was either sent and recorded before it exited, or given back.
    expect(await leasedByA()).toBe(0);
    await until('every delivery to the slow receiver recorded', async () => (await countWhere(`status = 'pending'`)) === 0, 60_000, 100);
    const ids = slow.received.map((r) => r.webhookId);
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
    expect(slow.received.every((r) => verifies(secret, r))).toBe(true);
  }, 120_000);
});
