// Which events become deliveries to which endpoints (data/webhook-queue.ts dispatchEvents):
// tenancy, departments, subscribed types, and the feed's rule that an event committing late
// is never passed over. Statements run directly; sending is tested in delivery.test.ts.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDeliveries, dispatchEvents, LEASES_PER_SLOT } from '../../src/data/webhook-queue.ts';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { preparedSql } from '../../src/db/sql.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { seedWorld, type World } from '../support/fixtures.ts';
import { deliveriesOf, insertEndpoint, insertEvent, type TestEndpoint } from './support.ts';

let database: TestDatabase;
let db: Database;
let world: World;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, poolMax: 4, poolWaitMs: 2000, statementTimeoutMs: 10_000 });
  world = await seedWorld(db);
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

/** Dispatches what is dispatchable now (what is below every running transaction anywhere in the cluster). */
async function dispatchAvailable(): Promise<number> {
  let total = 0;
  for (;;) {
    const { events } = await dispatchEvents(db.sql, new Date());
    total += events;
    if (events === 0) return total;
  }
}

/**
 * Dispatches until the position has passed every committed event. Transactions of other test
 * files (xids are cluster-wide) can hold dispatch back for a moment: wait them out.
 */
async function dispatchAll(): Promise<number> {
  let total = 0;
  const deadline = Date.now() + 20_000;
  for (;;) {
    total += await dispatchAvailable();
    const { rows } = await db.pool.query(
      `SELECT NOT EXISTS (SELECT 1 FROM events e, webhook_dispatch_position p WHERE (e.txid, e.id) > (p.txid, p.id)) AS caught_up`,
    );
    if (rows[0].caught_up) return total;
    if (Date.now() > deadline) throw new Error('dispatch did not catch up within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const eventIdsOf = async (e: TestEndpoint) => (await deliveriesOf(db, e.id)).map((d) => d.event_id).sort();

describe('dispatch', () => {
  it("queues a deal event for its department's endpoints only, a customer event for every department's, and never another tenant's", async () => {
    const t = world.tenant.tenant_id;
    const [d1, d2] = [world.department.id, world.otherDepartment.id];
    const url = 'http://127.0.0.1:9/hook';
    const first = await insertEndpoint(db, { tenantId: t, departmentId: d1, url });
    const second = await insertEndpoint(db, { tenantId: t, departmentId: d2, url });
    const onlyCustomers = await insertEndpoint(db, { tenantId: t, departmentId: d1, url, enabledEvents: ['customer.created'] });
    const otherTenant = await insertEndpoint(db, {
      tenantId: world.otherTenant.tenant_id,
      departmentId: world.otherTenant.departments[0]!.id,
      url,
    });
    const disabled = await insertEndpoint(db, { tenantId: t, departmentId: d1, url });
    await db.pool.query(`UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'manual' WHERE id = $1`, [disabled.id]);

    const dealInD1 = await insertEvent(db.pool, { tenantId: t, departmentId: d1, type: 'deal.created' });
    const dealInD2 = await insertEvent(db.pool, { tenantId: t, departmentId: d2, type: 'deal.updated' });
    const customer = await insertEvent(db.pool, { tenantId: t, departmentId: null, type: 'customer.created' });
    const test = await insertEvent(db.pool, { tenantId: t, departmentId: d1, type: 'webhook.test' });
    const otherTenantsDeal = await insertEvent(db.pool, {
      tenantId: world.otherTenant.tenant_id,
      departmentId: world.otherTenant.departments[0]!.id,
      type: 'deal.created',
    });

    expect(await dispatchAll()).toBe(5);
    expect(await eventIdsOf(first)).toEqual([dealInD1.id, customer.id].sort());
    expect(await eventIdsOf(second)).toEqual([dealInD2.id, customer.id].sort());
    expect(await eventIdsOf(onlyCustomers)).toEqual([customer.id]);
    expect(await eventIdsOf(otherTenant)).toEqual([otherTenantsDeal.id]);
    expect(await eventIdsOf(disabled)).toEqual([]);
    // webhook.test is sent by its operation, never queued; each event is queued once.
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE event_id = $1`, [test.id]);
    expect(rows[0].n).toBe(0);
    expect(await dispatchAll()).toBe(0);
    expect(await eventIdsOf(first)).toHaveLength(2);
    const pending = await deliveriesOf(db, first.id);
    expect(pending.every((d) => d.status === 'pending' && d.attempt_count === 0 && d.next_attempt_at !== null)).toBe(true);
  });

  it('never passes over an event whose transaction commits after a later one: it waits for it', async () => {
    const t = world.tenant.tenant_id;
    const d = world.department.id;
    const endpoint = await insertEndpoint(db, { tenantId: t, departmentId: d, url: 'http://127.0.0.1:9/late' });
    await dispatchAll();
    const late = new pg.Client({ connectionString: database.url });
    await late.connect();
    try {
      // The late transaction takes its xid first, then a later transaction commits an event.
      await late.query('BEGIN');
      const lateEvent = await insertEvent(late, { tenantId: t, departmentId: d, type: 'deal.updated' });
      const later = await insertEvent(db.pool, { tenantId: t, departmentId: d, type: 'deal.created' });
      // Nothing at or above the open transaction's xid is dispatched: the later event waits.
      await dispatchAvailable();
      expect(await eventIdsOf(endpoint)).toEqual([]);
      await late.query('COMMIT');
      await dispatchAll();
      expect(await eventIdsOf(endpoint)).toEqual([lateEvent.id, later.id].sort());
    } finally {
      await late.end();
    }
  });

  it('an endpoint gets the events that occurred after it was created, even those dispatched after it', async () => {
    const t = world.tenant.tenant_id;
    const d = world.department.id;
    await dispatchAll();
    const before = await insertEvent(db.pool, { tenantId: t, departmentId: d, type: 'deal.created' });
    const endpoint = await insertEndpoint(db, { tenantId: t, departmentId: d, url: 'http://127.0.0.1:9/new' });
    const after = await insertEvent(db.pool, { tenantId: t, departmentId: d, type: 'deal.created' });
    await dispatchAll();
    expect(await eventIdsOf(endpoint)).toEqual([after.id]);
    expect(before.id).not.toBe(after.id);
  });

  it('with nothing to dispatch, a dispatch takes no transaction id (it polls every 200 ms in every process)', async () => {
    await dispatchAll();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      expect(await dispatchEvents(preparedSql(client as unknown as pg.Pool), new Date())).toEqual({ events: 0, deliveries: 0 });
      const { rows } = await client.query('SELECT pg_current_xact_id_if_assigned() AS xid');
      expect(rows[0].xid).toBeNull();
      // And with something to dispatch it does lock (and so takes one).
      await insertEvent(db.pool, { tenantId: world.tenant.tenant_id, departmentId: world.department.id, type: 'deal.created' });
      await client.query('COMMIT');
      await client.query('BEGIN');
      const deadline = Date.now() + 10_000;
      while ((await dispatchEvents(preparedSql(client as unknown as pg.Pool), new Date())).events === 0 && Date.now() < deadline) {
        await client.query('ROLLBACK');
        await client.query('BEGIN');
      }
      expect((await client.query('SELECT pg_current_xact_id_if_assigned() AS xid')).rows[0].xid).not.toBeNull();
    } finally {
      await client.query('ROLLBACK');
      await client.end();
    }
  });

  it('a rolled back event is never queued', async () => {
    const t = world.tenant.tenant_id;
    const d = world.department.id;
    const endpoint = await insertEndpoint(db, { tenantId: t, departmentId: d, url: 'http://127.0.0.1:9/rollback' });
    await dispatchAll();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await insertEvent(client, { tenantId: t, departmentId: d, type: 'deal.created' });
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
    const kept = await insertEvent(db.pool, { tenantId: t, departmentId: d, type: 'deal.created' });
    await dispatchAll();
    expect(await eventIdsOf(endpoint)).toEqual([kept.id]);
  });

  it('two dispatchers at once queue each event once', async () => {
    const t = world.tenant.tenant_id;
    const d = world.department.id;
    const endpoint = await insertEndpoint(db, { tenantId: t, departmentId: d, url: 'http://127.0.0.1:9/twice' });
    await dispatchAll();
    // More than two dispatch batches, in several transactions.
    const inserted: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { rows } = await db.pool.query<{ id: string }>(
        `INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, occurred_at, payload)
         SELECT $1, uuidv7(), $2, 'deal.created', uuidv7(), 1, now(), '{}' FROM generate_series(1, 200) RETURNING id`,
        [t, d],
      );
      inserted.push(...rows.map((r) => r.id));
    }
    await Promise.all([dispatchAll(), dispatchAll(), dispatchAll()]);
    await dispatchAll();
    const queued = await eventIdsOf(endpoint);
    expect(queued).toHaveLength(inserted.length);
    expect(new Set(queued).size).toBe(inserted.length);
  });
});

describe('claim', () => {
  it('leases due deliveries to one worker; another worker gets none of them until the lease runs out', async () => {
    const t = world.tenant.tenant_id;
    const d = world.otherDepartment.id;
    const endpoint = await insertEndpoint(db, { tenantId: t, departmentId: d, url: 'http://127.0.0.1:9/claim', maxConcurrency: 2 });
    for (let i = 0; i < 10; i++) await insertEvent(db.pool, { tenantId: t, departmentId: d, type: 'deal.created' });
    await dispatchAll();
    // Earlier tests' deliveries are due too: take them out of the way.
    await db.pool.query(`UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL WHERE endpoint_id <> $1`, [
      endpoint.id,
    ]);
    const now = new Date(Date.now() + 1000);
    const a = await claimDeliveries(db.sql, { now, workerId: 'a', leaseMs: 10_000, limit: 100 });
    // LEASES_PER_SLOT × max_concurrency (2) are leased at once, across workers; oldest first.
    expect(a).toHaveLength(LEASES_PER_SLOT * 2);
    expect(a.map((c) => c.id)).toEqual(a.map((c) => c.id).sort());
    expect(a.every((c) => c.max_concurrency === 2 && c.payload.startsWith('{"id":'))).toBe(true);
    expect(await claimDeliveries(db.sql, { now, workerId: 'b', leaseMs: 10_000, limit: 100 })).toEqual([]);
    const rows = await deliveriesOf(db, endpoint.id);
    expect(rows.filter((r) => r.leased_by === 'a')).toHaveLength(LEASES_PER_SLOT * 2);
    // Past the lease, the deliveries are due again for anyone (a crashed worker's, say).
    const later = new Date(now.getTime() + 10_001);
    const b = await claimDeliveries(db.sql, { now: later, workerId: 'b', leaseMs: 10_000, limit: 100 });
    expect(b).toHaveLength(LEASES_PER_SLOT * 2);
    // The two never leased (due since dispatch) come first, then expired leases.
    expect(new Set([...a, ...b].map((c) => c.id)).size).toBe(10);
  });
});
