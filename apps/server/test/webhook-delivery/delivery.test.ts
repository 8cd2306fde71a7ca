// The delivery worker against real receivers on 127.0.0.1, every request verified with the
// `standardwebhooks` package, unmodified. The worker's clock is injected: a retry becomes due
// when the test moves the clock past it, never by sleeping. runOnce() is one worker round
// (dispatch, claim, send, record) that resolves when what it claimed is recorded.

import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoTenant } from '../../src/admin/tenancy.ts';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { newSigningSecret } from '../../src/webhooks/secret-box.ts';
import { type DeliveryWorker, startDeliveryWorker } from '../../src/webhooks/worker/delivery-worker.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import {
  attemptsOf,
  box,
  deliveriesOf,
  insertEndpoint,
  insertEvent,
  manualClock,
  type Receiver,
  startReceiver,
  type TestEndpoint,
  verifies,
} from './support.ts';

let database: TestDatabase;
let db: Database;
const receivers: Receiver[] = [];
const workers: DeliveryWorker[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, poolMax: 4, poolWaitMs: 2000, statementTimeoutMs: 10_000 });
});
// The clock jumps ahead in some tests: earlier tests' retries must not become due in later ones.
afterEach(async () => {
  await db.pool.query(`UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL WHERE status = 'pending'`);
});
afterAll(async () => {
  for (const w of workers) await w.close();
  for (const r of receivers) await r.close();
  await db?.close();
  await database?.drop();
});

/** A tenant of its own, a receiver, and an endpoint for its first department pointing at it. */
async function setup(options: { maxConcurrency?: number } = {}) {
  const tenant = await seedDemoTenant(db.prisma);
  const receiver = await startReceiver();
  receivers.push(receiver);
  const endpoint = await insertEndpoint(db, {
    tenantId: tenant.tenant_id,
    departmentId: tenant.departments[0]!.id,
    url: receiver.url,
    maxConcurrency: options.maxConcurrency,
  });
  const event = () => insertEvent(db.pool, { tenantId: tenant.tenant_id, departmentId: tenant.departments[0]!.id, type: 'deal.created' });
  return { tenant, receiver, endpoint, event };
}

function worker(clock: ReturnType<typeof manualClock>, timeoutMs = 5000): DeliveryWorker {
  const w = startDeliveryWorker({
    sql: db.sql,
    log: pino({ level: 'silent' }),
    box,
    policy: { allowPrivateNetworks: true },
    timeoutMs,
    now: clock.now,
    random: () => 0.5,
    autoRun: false,
  });
  workers.push(w);
  return w;
}

/**
 * runOnce until every committed event is dispatched, and what is due then is sent: other test
 * files' transactions (xids are cluster-wide) can hold dispatch back for a moment.
 */
async function round(w: DeliveryWorker): Promise<{ dispatched: number; sent: number }> {
  const total = { dispatched: 0, sent: 0 };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { dispatched, sent } = await w.runOnce();
    total.dispatched += dispatched;
    total.sent += sent;
    const { rows } = await db.pool.query(
      `SELECT NOT EXISTS (SELECT 1 FROM events e, webhook_dispatch_position p WHERE (e.txid, e.id) > (p.txid, p.id)) AS caught_up`,
    );
    if (rows[0].caught_up && dispatched === 0) return total;
    if (Date.now() > deadline) throw new Error('dispatch did not catch up within 20 s');
    if (!rows[0].caught_up) await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function endpointRow(e: TestEndpoint) {
  const { rows } = await db.pool.query(
    'SELECT status, disabled_reason, failing_since, version FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2',
    [e.tenantId, e.id],
  );
  return rows[0] as { status: string; disabled_reason: string | null; failing_since: Date | null; version: number };
}

const seconds = (a: Date, b: Date) => (b.getTime() - a.getTime()) / 1000;

describe('delivery', () => {
  it('sends the stored event byte for byte, signed; 500 then 200: the retry comes when the clock passes 5 s ± 20 %, same webhook-id, new timestamp and signature', async () => {
    const { receiver, endpoint, event } = await setup();
    const clock = manualClock();
    const w = worker(clock);
    const sent = await event();
    receiver.answer({ status: 500, body: 'try later' });
    const t0 = clock.now();

    expect(await round(w)).toEqual({ dispatched: 1, sent: 1 });
    expect(receiver.received).toHaveLength(1);
    const first = receiver.received[0]!;
    expect(first.body).toBe(sent.payload);
    expect(first.webhookId).toBe(sent.id);
    expect(first.headers['content-type']).toBe('application/json');
    expect(verifies(endpoint.secret, first)).toBe(true);
    expect(verifies(newSigningSecret(), first)).toBe(false);
    let [delivery] = await deliveriesOf(db, endpoint.id);
    expect(delivery).toMatchObject({ status: 'pending', attempt_count: 1, leased_by: null, lease_expires_at: null });
    const due = delivery!.next_attempt_at!;
    expect(seconds(t0, due)).toBeGreaterThanOrEqual(4);
    expect(seconds(t0, due)).toBeLessThanOrEqual(6);
    expect((await endpointRow(endpoint)).failing_since).toEqual(t0);

    // Just before it is due: nothing is sent.
    clock.set(new Date(due.getTime() - 1));
    expect(await round(w)).toEqual({ dispatched: 0, sent: 0 });
    expect(receiver.received).toHaveLength(1);

    clock.set(due);
    expect(await round(w)).toEqual({ dispatched: 0, sent: 1 });
    expect(receiver.received).toHaveLength(2);
    const second = receiver.received[1]!;
    expect(second.webhookId).toBe(sent.id);
    expect(second.body).toBe(sent.payload);
    expect(Number(second.headers['webhook-timestamp'])).toBeGreaterThan(Number(first.headers['webhook-timestamp']));
    expect(second.headers['webhook-signature']).not.toBe(first.headers['webhook-signature']);
    expect(verifies(endpoint.secret, second)).toBe(true);

    [delivery] = await deliveriesOf(db, endpoint.id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempt_count: 2, next_attempt_at: null, leased_by: null });
    const attempts = await attemptsOf(db, delivery!.id);
    expect(attempts.map((a) => [a.attempt, a.status_code, a.error, a.response_body])).toEqual([
      [1, 500, 'http', 'try later'],
      [2, 200, null, ''],
    ]);
    expect(attempts[0]!.attempted_at).toEqual(t0);
    expect(attempts[1]!.attempted_at).toEqual(due);
    // A success clears the endpoint's failing streak.
    expect((await endpointRow(endpoint)).failing_since).toBeNull();
  });

  it('a receiver slower than the timeout: the attempt is a timeout, retried no sooner than 60 s', async () => {
    const { receiver, endpoint, event } = await setup();
    const clock = manualClock();
    const w = worker(clock, 300);
    await event();
    receiver.answer({ delayMs: 3000 });
    expect((await round(w)).sent).toBe(1);
    const [delivery] = await deliveriesOf(db, endpoint.id);
    expect(delivery!.status).toBe('pending');
    expect(seconds(clock.now(), delivery!.next_attempt_at!)).toBeGreaterThanOrEqual(60);
    const [attempt] = await attemptsOf(db, delivery!.id);
    expect(attempt).toMatchObject({ status_code: null, error: 'timeout', response_body: null });
    expect(attempt!.duration_ms).toBeGreaterThanOrEqual(250);
    expect(attempt!.duration_ms).toBeLessThan(2500);
  });

  it('429 with Retry-After: the retry waits what the receiver asked, within [the scheduled delay, twice it]', async () => {
    const { receiver, endpoint, event } = await setup();
    const clock = manualClock();
    const w = worker(clock);
    await event();
    await event();
    receiver.answer({ status: 429, headers: { 'retry-after': '90' } }, { status: 429, headers: { 'retry-after': '3600' } });
    expect((await round(w)).sent).toBe(2);
    const delays = (await deliveriesOf(db, endpoint.id)).map((d) => seconds(clock.now(), d.next_attempt_at!)).sort((a, b) => a - b);
    // The schedule's first delay is 5 s; 429 waits at least 60 s: 90 s is honoured, an hour is clamped to twice 60 s.
    expect(delays).toEqual([90, 120]);
  });

  it('410 fails the delivery, disables the endpoint (gone) and fails its other pending deliveries; no more are queued', async () => {
    const { receiver, endpoint, event } = await setup({ maxConcurrency: 1 });
    const clock = manualClock();
    const w = worker(clock);
    await event();
    await event();
    receiver.answer({ status: 410 });
    // max_concurrency 1: one of the two is sent; its 410 ends the other.
    expect((await round(w)).sent).toBe(1);
    const deliveries = await deliveriesOf(db, endpoint.id);
    expect(deliveries.map((d) => [d.status, d.attempt_count, d.next_attempt_at])).toEqual([
      ['failed', 1, null],
      ['failed', 0, null],
    ]);
    expect(deliveries.every((d) => d.leased_by === null)).toBe(true);
    expect(await endpointRow(endpoint)).toMatchObject({ status: 'disabled', disabled_reason: 'gone', version: 2 });
    await event();
    clock.advance(3_600_000);
    expect(await round(w)).toEqual({ dispatched: 1, sent: 0 });
    expect(receiver.received).toHaveLength(1);
    expect(await deliveriesOf(db, endpoint.id)).toHaveLength(2);
  });

  it('a 302 to an internal address is a failure and is not followed', async () => {
    const { receiver, endpoint, event } = await setup();
    const internal = await startReceiver('/admin');
    receivers.push(internal);
    const clock = manualClock();
    const w = worker(clock);
    await event();
    receiver.answer({ status: 302, headers: { location: internal.url } });
    expect((await round(w)).sent).toBe(1);
    expect(internal.received).toEqual([]);
    const [delivery] = await deliveriesOf(db, endpoint.id);
    expect(delivery!.status).toBe('pending');
    expect(await attemptsOf(db, delivery!.id)).toMatchObject([{ status_code: 302, error: 'http' }]);
  });

  it('connection refused is a connect failure, retried', async () => {
    const { receiver, endpoint, event } = await setup();
    await receiver.close();
    const clock = manualClock();
    const w = worker(clock);
    await event();
    expect((await round(w)).sent).toBe(1);
    const [delivery] = await deliveriesOf(db, endpoint.id);
    expect(delivery).toMatchObject({ status: 'pending', attempt_count: 1 });
    expect(await attemptsOf(db, delivery!.id)).toMatchObject([{ status_code: null, error: 'connect', response_body: null }]);
  });

  it('a 1 MB response: the delivery succeeds and 4 KiB of the body is kept', async () => {
    const { receiver, endpoint, event } = await setup();
    const clock = manualClock();
    const w = worker(clock);
    await event();
    receiver.answer({ status: 200, body: Buffer.alloc(1024 * 1024, 'x') });
    expect((await round(w)).sent).toBe(1);
    const [delivery] = await deliveriesOf(db, endpoint.id);
    expect(delivery!.status).toBe('succeeded');
    const [attempt] = await attemptsOf(db, delivery!.id);
    expect(attempt!.status_code).toBe(200);
    expect(attempt!.response_body).toBe('x'.repeat(4096));
  });

  it('secret rotation: both secrets verify during the grace period, only the new one after it', async () => {
    const { receiver, endpoint, event } = await setup();
    const clock = manualClock();
    const w = worker(clock);
    const rotated = newSigningSecret();
    await db.pool.query(
      `UPDATE webhook_endpoints SET secret = $3, previous_secret = secret, previous_secret_expires_at = $4
       WHERE tenant_id = $1 AND id = $2`,
      [endpoint.tenantId, endpoint.id, box.seal(rotated), new Date(clock.now().getTime() + 60_000)],
    );
    await event();
    expect((await round(w)).sent).toBe(1);
    const during = receiver.received[0]!;
    expect(verifies(endpoint.secret, during)).toBe(true);
    expect(verifies(rotated, during)).toBe(true);
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);

    clock.advance(60_001);
    await event();
    expect((await round(w)).sent).toBe(1);
    const after = receiver.received[1]!;
    expect(verifies(rotated, after)).toBe(true);
    expect(verifies(endpoint.secret, after)).toBe(false);
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
  });

  it('an endpoint whose every attempt failed for 5 days is disabled (failing), its retries failed', async () => {
    const { receiver, endpoint, event } = await setup();
    const clock = manualClock();
    const w = worker(clock);
    const t0 = clock.now();
    await event();
    receiver.always({ status: 500 });
    expect((await round(w)).sent).toBe(1);
    expect((await endpointRow(endpoint)).failing_since).toEqual(t0);
    // Not yet: just under 5 days after the first failure.
    clock.set(new Date(t0.getTime() + 5 * 86_400_000 - 1000));
    await event();
    expect((await round(w)).sent).toBe(2);
    expect(await endpointRow(endpoint)).toMatchObject({ status: 'enabled', failing_since: t0 });
    // A day later both retries are due, fail, and the streak has lasted 5 days.
    clock.advance(24 * 3_600_000);
    expect((await round(w)).sent).toBe(2);
    expect(await endpointRow(endpoint)).toMatchObject({ status: 'disabled', disabled_reason: 'failing' });
    const statuses = (await deliveriesOf(db, endpoint.id)).map((d) => d.status);
    expect(statuses).toEqual(['failed', 'failed']);
  });

  it("an endpoint's max_concurrency bounds the requests it gets at once", async () => {
    const { receiver, endpoint, event } = await setup({ maxConcurrency: 3 });
    const clock = manualClock();
    const w = worker(clock);
    for (let i = 0; i < 12; i++) await event();
    receiver.always({ status: 200, delayMs: 150 });
    expect((await round(w)).sent).toBe(12);
    expect(receiver.received).toHaveLength(12);
    expect(receiver.peakInFlight()).toBe(3);
    expect((await deliveriesOf(db, endpoint.id)).every((d) => d.status === 'succeeded')).toBe(true);
  });
});
