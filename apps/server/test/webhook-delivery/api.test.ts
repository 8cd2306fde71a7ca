// Deliveries of the API's own events, through the server as `npm start` builds it (start.ts:
// the worker runs in the process, woken by LISTEN/NOTIFY), to receivers on 127.0.0.1 verified
// with `standardwebhooks`: what a partner registering endpoints over the API sees. Tenancy,
// rejected writes, recovery after the endpoint was disabled, redelivery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { referenceRequest, seedWorld, type World } from '../support/fixtures.ts';
import { client } from '../support/http.ts';
import { type StartedServer, startServer } from '../support/running-server.ts';
import { type Receiver, startReceiver, TEST_KEY, until, verifies } from './support.ts';

let database: TestDatabase;
let db: Database;
let server: StartedServer;
let world: World;
const receivers: Receiver[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, poolMax: 2, poolWaitMs: 2000, statementTimeoutMs: 10_000 });
  world = await seedWorld(db);
  server = await startServer({
    DATABASE_URL: database.url,
    SEED_DEMO_ON_EMPTY: 'false',
    RATE_LIMIT_PER_SECOND: '0',
    VALIDATE_RESPONSES: 'true',
    LOG_LEVEL: 'warn',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_ENCRYPTION_KEY: TEST_KEY,
    WEBHOOK_TIMEOUT_MS: '2000',
  });
});
afterAll(async () => {
  // The LISTEN test ends the wake-up connection on purpose; anything else is shown.
  const problems = server?.logs.lines().filter((l) => l.level >= 40 && !l.msg.includes('wake-up connection lost')) ?? [];
  if (problems.length) console.warn(problems.map((l) => JSON.stringify(l)).join('\n'));
  await server?.close();
  for (const r of receivers) await r.close();
  await db?.close();
  await database?.drop();
});

const as = (apiKey: string, departmentId: string) => client(`${server.origin}/api/v1/integration`, { apiKey, departmentId });

async function receiverWithEndpoint(call: ReturnType<typeof as>, enabledEvents: string[] = ['*']) {
  const receiver = await startReceiver();
  receivers.push(receiver);
  const created = await call('POST', '/webhook-endpoints', { body: { url: receiver.url, enabled_events: enabledEvents } });
  expect(created.status, created.text).toBe(201);
  return { receiver, endpoint: created.json as { id: string; secret: string } };
}

/** The stored events of a tenant, oldest first: what must arrive, byte for byte. */
async function eventsOf(
  tenantId: string,
  since = 0,
): Promise<{ id: string; type: string; department_id: string | null; payload: string }[]> {
  const { rows } = await db.pool.query(
    `SELECT id::text, type, department_id::text, payload FROM events WHERE tenant_id = $1 ORDER BY txid, id OFFSET $2`,
    [tenantId, since],
  );
  return rows;
}

describe('deliveries of API writes', () => {
  it("each endpoint gets its department's deal events and every customer event of its tenant, never another department's deals or another tenant's anything", async () => {
    const first = as(world.apiKey, world.department.id);
    const second = as(world.apiKey, world.otherDepartment.id);
    const other = as(world.otherTenant.api_key, world.otherTenant.departments[0]!.id);
    const a = await receiverWithEndpoint(first);
    const b = await receiverWithEndpoint(second);
    const c = await receiverWithEndpoint(other);
    const before = (await eventsOf(world.tenant.tenant_id)).length;

    expect((await first('POST', '/deals', { body: referenceRequest })).status).toBe(201);
    expect((await second('POST', '/deals', { body: { name: 'Second department deal' } })).status).toBe(201);
    expect((await other('POST', '/deals', { body: { name: 'Another tenant' } })).status).toBe(201);

    const events = await eventsOf(world.tenant.tenant_id, before);
    expect(events.map((e) => e.type)).toEqual(['customer.created', 'customer.created', 'deal.created', 'deal.created']);
    const otherEvents = await eventsOf(world.otherTenant.tenant_id);
    const forA = events.filter((e) => e.department_id === null || e.department_id === world.department.id);
    const forB = events.filter((e) => e.department_id === null || e.department_id === world.otherDepartment.id);
    await until(
      'every delivery',
      () => a.receiver.received.length >= 3 && b.receiver.received.length >= 3 && c.receiver.received.length >= 1,
    );
    // Settle: nothing else is on its way.
    await until(
      'no pending deliveries',
      async () => (await db.pool.query(`SELECT 1 FROM webhook_deliveries WHERE status = 'pending'`)).rowCount === 0,
    );

    const bodies = (r: Receiver) => r.received.map((x) => x.body).sort();
    expect(bodies(a.receiver)).toEqual(forA.map((e) => e.payload).sort());
    expect(bodies(b.receiver)).toEqual(forB.map((e) => e.payload).sort());
    expect(bodies(c.receiver)).toEqual(otherEvents.map((e) => e.payload).sort());
    for (const { receiver, endpoint } of [a, b, c]) {
      expect(receiver.received.every((r) => verifies(endpoint.secret, r))).toBe(true);
      expect(receiver.received.every((r) => r.webhookId === (JSON.parse(r.body) as { id: string }).id)).toBe(true);
    }
    // Only subscribed types: an endpoint for deal.updated gets none of these.
    const quiet = await receiverWithEndpoint(first, ['deal.updated']);
    expect((await first('POST', '/deals', { body: { name: 'Unseen' } })).status).toBe(201);
    await until('the other endpoint got the new deal', () => a.receiver.received.length === 4);
    expect(quiet.receiver.received).toEqual([]);
  });

  it('a rejected write queues nothing', async () => {
    const call = as(world.apiKey, world.department.id);
    const { receiver } = await receiverWithEndpoint(call);
    const created = await call('POST', '/deals', { body: { name: 'Kept' } });
    expect(created.status).toBe(201);
    await until('the created deal', () => receiver.received.length === 1);
    const before = (await eventsOf(world.tenant.tenant_id)).length;

    const unknownStep = await call('POST', '/deals', { body: { name: 'No such step', step_id: '00000000-0000-7000-8000-000000000000' } });
    expect(unknownStep.status).toBe(422);
    const stale = await call('PATCH', `/deals/${created.json.id}`, { body: { name: 'Changed' }, headers: { 'If-Match': '"999"' } });
    expect(stale.status).toBe(412);
    // A write after them: once it is delivered, anything the rejected ones had queued would be too.
    expect((await call('PATCH', `/deals/${created.json.id}`, { body: { name: 'Changed' } })).status).toBe(200);
    await until('the accepted update', () => receiver.received.length === 2);
    const events = await eventsOf(world.tenant.tenant_id, before);
    expect(events.map((e) => e.type)).toEqual(['deal.updated']);
    expect(receiver.received.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual(['deal.created', 'deal.updated']);
  });

  it('recover after the endpoint was disabled: the failed delivery and the events missed meanwhile are delivered', async () => {
    const call = as(world.apiKey, world.department.id);
    const { receiver, endpoint } = await receiverWithEndpoint(call);
    receiver.answer({ status: 410 });
    // The window starts when the endpoint was created: earlier events were never meant for it.
    const since = (endpoint as unknown as { created_at: string }).created_at;
    expect((await call('POST', '/customers', { body: { last_name: 'Gone-1' } })).status).toBe(201);
    await until('the endpoint disabled', async () => (await call('GET', `/webhook-endpoints/${endpoint.id}`)).json.status === 'disabled');
    expect((await call('GET', `/webhook-endpoints/${endpoint.id}`)).json.disabled_reason).toBe('gone');
    // Missed while disabled: never queued.
    expect((await call('POST', '/customers', { body: { last_name: 'Missed-2' } })).status).toBe(201);
    expect((await call('POST', '/customers', { body: { last_name: 'Missed-3' } })).status).toBe(201);

    const recovered = await call('POST', `/webhook-endpoints/${endpoint.id}/recover`, { body: { since } });
    expect(recovered.status, recovered.text).toBe(202);
    expect(recovered.json).toEqual({ requeued: 1, created: 2 });
    await until('the three customers delivered', () => new Set(receiver.received.slice(1).map((r) => r.webhookId)).size === 3);
    const names = receiver.received
      .slice(1)
      .map((r) => (JSON.parse(r.body) as { data: { object: { last_name: string } } }).data.object.last_name);
    expect(names.sort()).toEqual(['Gone-1', 'Missed-2', 'Missed-3']);
    expect(receiver.received.every((r) => verifies(endpoint.secret, r))).toBe(true);
    expect((await call('GET', `/webhook-endpoints/${endpoint.id}`)).json.status).toBe('enabled');
  });

  it('redeliver sends the event again at once, with the same webhook-id', async () => {
    const call = as(world.apiKey, world.department.id);
    const { receiver, endpoint } = await receiverWithEndpoint(call, ['customer.created']);
    expect((await call('POST', '/customers', { body: { last_name: 'Twice' } })).status).toBe(201);
    await until('the first delivery', () => receiver.received.length === 1);
    const eventId = receiver.received[0]!.webhookId;
    const redelivered = await call('POST', `/events/${eventId}/redeliver`, { body: { endpoint_id: endpoint.id } });
    expect(redelivered.status, redelivered.text).toBe(202);
    await until('the redelivery', () => receiver.received.length === 2, 5000);
    expect(receiver.received[1]!.webhookId).toBe(eventId);
    expect(receiver.received[1]!.body).toBe(receiver.received[0]!.body);
    expect(verifies(endpoint.secret, receiver.received[1]!)).toBe(true);
  });

  it('the wake-up connection (LISTEN) comes back after the database ended it', async () => {
    const listeners = async () =>
      (
        await db.pool.query<{ pid: number; state: string; query: string }>(
          `SELECT pid, state, query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'deals-api-webhooks'`,
        )
      ).rows;
    const [before] = await listeners();
    expect(before?.query).toBe('LISTEN webhook_deliveries');
    await db.pool.query('SELECT pg_terminate_backend($1)', [before!.pid]);
    await until('a new LISTEN connection', async () => (await listeners()).some((l) => l.pid !== before!.pid), 10_000, 50);
    const call = as(world.apiKey, world.department.id);
    const { receiver } = await receiverWithEndpoint(call, ['customer.created']);
    expect((await call('POST', '/customers', { body: { last_name: 'After reconnect' } })).status).toBe(201);
    await until('the delivery', () => receiver.received.length === 1);
  });

  it('disabling an endpoint stops deliveries already leased and waiting for a free slot', async () => {
    const call = as(world.apiKey, world.department.id);
    const { receiver, endpoint } = await receiverWithEndpoint(call, ['customer.created']);
    receiver.always({ status: 200, delayMs: 1500 });
    for (let i = 0; i < 30; i++) expect((await call('POST', '/customers', { body: { last_name: `Waiting-${i}` } })).status).toBe(201);
    // Ten at a time (max_concurrency); the rest wait in the worker's lane for the endpoint.
    await until('a full slot of deliveries at the receiver', () => receiver.inFlight() === 10);
    const disabled = await call('PATCH', `/webhook-endpoints/${endpoint.id}`, { body: { status: 'disabled' } });
    expect(disabled.status, disabled.text).toBe(200);
    await until(
      'nothing pending or in flight',
      async () =>
        receiver.inFlight() === 0 &&
        (await db.pool.query(`SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'`, [endpoint.id])).rowCount ===
          0,
    );
    // The slot in flight at the PATCH, and at most the one started before its outcome was
    // recorded (a slow receiver, so that one more slot would need a recording slower than 1.5 s; the delivery timeout is 2 s).
    expect(receiver.received.length).toBeLessThanOrEqual(20);
    const { rows } = await db.pool.query(
      `SELECT status, count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 GROUP BY status`,
      [endpoint.id],
    );
    const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    // Events the dispatcher reached after the PATCH were never queued (the endpoint was
    // disabled); of those queued before it, what was not sent was failed, none left waiting.
    expect(byStatus.pending).toBeUndefined();
    expect(byStatus.succeeded ?? 0).toBe(receiver.received.length);
    expect((byStatus.succeeded ?? 0) + (byStatus.failed ?? 0)).toBeLessThanOrEqual(30);
  });
});
