// No event without its change: a refused write (422, 404, 412, 409), an idempotent replay, the
// idempotency race's self-abort and a write rolled back inside PostgreSQL leave `events` as it
// was. And no change without its event: when the event cannot be written, neither is the change.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basePath } from '../../src/contract.ts';
import { requestHash } from '../../src/data/idempotency.ts';
import { referenceRequest } from '../support/fixtures.ts';
import type { Reply } from '../support/http.ts';
import { useWorld } from '../support/world.ts';
import { eventCount } from './feed.ts';

const t = useWorld();
let other: pg.Client;
let deal: any;
let customer: any;

beforeAll(async () => {
  other = new pg.Client({ connectionString: t.server.database.url });
  await other.connect();
  deal = (await t.call('POST', '/deals', { body: referenceRequest })).json;
  customer = (await t.call('POST', '/customers', { body: { last_name: 'Kept' } })).json;
});
afterAll(async () => {
  await other?.end();
});

/** `write` answers `status` and leaves the events table as it was. */
async function expectNoEvent(status: number, write: () => Promise<Reply>) {
  const before = await eventCount(t.server.db);
  const reply = await write();
  expect(reply.status, reply.text).toBe(status);
  expect(await eventCount(t.server.db)).toBe(before);
  return reply;
}

const unknownId = '01a00000-0000-7000-8000-000000000000';

describe('a refused write writes no event', () => {
  it('422: a failed reference check', async () => {
    await expectNoEvent(422, () => t.call('POST', '/deals', { body: { ...referenceRequest, step_id: unknownId } }));
    await expectNoEvent(422, () => t.call('POST', '/deals', { body: { name: 'x', customer_ids: [unknownId] } }));
    await expectNoEvent(422, () => t.call('PATCH', `/deals/${deal.id}`, { body: { employee_id: unknownId } }));
    await expectNoEvent(422, () => t.call('PATCH', `/deals/${deal.id}`, { body: { customer_ids: [unknownId] } }));
    await expectNoEvent(422, () => t.call('POST', '/customers', { body: { first_name: 'no last name' } }));
  });

  it('404: an unknown deal or customer, or a deal of another department', async () => {
    await expectNoEvent(404, () => t.call('PATCH', `/deals/${unknownId}`, { body: { volume: 1 } }));
    await expectNoEvent(404, () => t.call('DELETE', `/deals/${unknownId}`));
    await expectNoEvent(404, () => t.call('PATCH', `/customers/${unknownId}`, { body: { company: 'x' } }));
    const foreign = { apiKey: t.world.otherDepartmentKey, departmentId: t.world.otherDepartment.id };
    await expectNoEvent(404, () => t.call('PATCH', `/deals/${deal.id}`, { body: { volume: 1 }, ...foreign }));
    await expectNoEvent(404, () => t.call('DELETE', `/deals/${deal.id}`, foreign));
  });

  it('412: a stale If-Match', async () => {
    const stale = { headers: { 'If-Match': '"99"' } };
    await expectNoEvent(412, () => t.call('PATCH', `/deals/${deal.id}`, { body: { volume: 1 }, ...stale }));
    await expectNoEvent(412, () => t.call('DELETE', `/deals/${deal.id}`, stale));
    await expectNoEvent(412, () => t.call('PATCH', `/customers/${customer.id}`, { body: { company: 'x' }, ...stale }));
  });

  it('409: an Idempotency-Key whose first request is still running', async () => {
    const key = randomUUID();
    await other.query('BEGIN');
    try {
      await other.query(`SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))`, [t.world.tenant.tenant_id, key]);
      await expectNoEvent(409, () => t.call('POST', '/deals', { body: referenceRequest, headers: { 'Idempotency-Key': key } }));
      await expectNoEvent(409, () => t.call('POST', '/customers', { body: { last_name: 'x' }, headers: { 'Idempotency-Key': key } }));
    } finally {
      await other.query('ROLLBACK');
    }
  });
});

describe('an idempotent replay writes no event', () => {
  it('createDeal and createCustomer answer the stored 201 again, and the events of the first request stay the only ones', async () => {
    const key = randomUUID();
    const before = await eventCount(t.server.db);
    const first = await t.call('POST', '/deals', { body: referenceRequest, headers: { 'Idempotency-Key': key } });
    expect(first.status).toBe(201);
    expect(await eventCount(t.server.db)).toBe(before + referenceRequest.customers.length + 1);
    const replay = await expectNoEvent(201, () =>
      t.call('POST', '/deals', { body: referenceRequest, headers: { 'Idempotency-Key': key } }),
    );
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const customerKey = randomUUID();
    await t.call('POST', '/customers', { body: { last_name: 'Once' }, headers: { 'Idempotency-Key': customerKey } });
    const again = await expectNoEvent(201, () =>
      t.call('POST', '/customers', { body: { last_name: 'Once' }, headers: { 'Idempotency-Key': customerKey } }),
    );
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('the idempotency race (a first request commits mid-statement) aborts the second with its events', async () => {
    // As test/integrity/idempotency-race.test.ts: the first request, hand-written and without
    // an event, commits while the second's statement waits to store its response.
    const key = randomUUID();
    const body = { last_name: 'Raced' };
    const customerId = randomUUID();
    const headers = { Location: `${basePath}/customers/${customerId}`, ETag: '"1"' };
    const { tenant, department } = t.world;
    await other.query('BEGIN');
    await other.query('INSERT INTO customers (tenant_id, id, last_name) VALUES ($1, $2, $3)', [
      tenant.tenant_id,
      customerId,
      body.last_name,
    ]);
    await other.query(
      `INSERT INTO idempotency_records (tenant_id, key, request_hash, status_code, response_body, response_headers, expires_at)
       SELECT $1, $2, $3, 201, api_customer_json(c)::text, $5::jsonb, now() + interval '24 hours' FROM customers c WHERE c.tenant_id = $1 AND c.id = $4`,
      [tenant.tenant_id, key, requestHash('createCustomer', department.id, body), customerId, JSON.stringify(headers)],
    );
    const before = await eventCount(t.server.db);
    const second = t.call('POST', '/customers', { body, headers: { 'Idempotency-Key': key } });
    try {
      for (const started = Date.now(); ; await new Promise((r) => setTimeout(r, 20))) {
        const { rows } = await t.server.db.pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'deals-api' AND wait_event_type = 'Lock'`,
        );
        if (rows.length) break;
        if (Date.now() - started > 15_000) throw new Error('the create never waited on the first request');
      }
    } finally {
      await other.query('COMMIT');
    }
    const reply = await second;
    expect(reply.status, reply.text).toBe(201);
    expect(reply.headers.get('idempotent-replayed')).toBe('true');
    expect(await eventCount(t.server.db)).toBe(before);
  });
});

describe('a write rolled back inside PostgreSQL', () => {
  it('leaves neither the change nor its events; an event that cannot be written takes the change with it', async () => {
    // Test-only triggers: one fails a deal's insert after its new customers were written,
    // one fails the event insert itself.
    await other.query(
      `CREATE FUNCTION fail_for_test() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'rolled back by the test'; END $$`,
    );
    try {
      await other.query(`CREATE TRIGGER fail_events BEFORE INSERT ON events FOR EACH ROW
        WHEN (NEW.request_id = 'roll-back-this') EXECUTE FUNCTION fail_for_test()`);
      await other.query(`CREATE TRIGGER fail_deals BEFORE INSERT ON deals FOR EACH ROW
        WHEN (NEW.name = 'Roll back this deal') EXECUTE FUNCTION fail_for_test()`);
      const customersBefore = (await t.server.db.pool.query('SELECT count(*)::int AS n FROM customers')).rows[0].n;
      await expectNoEvent(500, () => t.call('POST', '/deals', { body: { ...referenceRequest, name: 'Roll back this deal' } }));
      await expectNoEvent(500, () => t.call('POST', '/deals', { body: referenceRequest, headers: { 'X-Request-Id': 'roll-back-this' } }));
      await expectNoEvent(500, () =>
        t.call('PATCH', `/customers/${customer.id}`, { body: { company: 'never' }, headers: { 'X-Request-Id': 'roll-back-this' } }),
      );
      expect((await t.server.db.pool.query('SELECT count(*)::int AS n FROM customers')).rows[0].n).toBe(customersBefore);
      expect((await t.call('GET', `/customers/${customer.id}`)).json).toEqual(customer);
      const { rows } = await t.server.db.pool.query(`SELECT count(*)::int AS n FROM deals WHERE name = 'Roll back this deal'`);
      expect(rows[0].n).toBe(0);
    } finally {
      await other.query('DROP TRIGGER IF EXISTS fail_events ON events; DROP TRIGGER IF EXISTS fail_deals ON deals');
    }
  });
});
