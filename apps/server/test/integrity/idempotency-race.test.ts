// The rare race of data/idempotency.ts, made to happen deterministically: a create with an
// Idempotency-Key finds no stored response in its snapshot, but one is committed before it
// can store its own. The statement aborts itself with SQLSTATE DA001 (api_abort, migration
// 20261202000100), writing nothing, and the server recognises that code and replays the
// stored response: the client sees the first request's 201, never a 500, and one customer.

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basePath } from '../../src/contract.ts';
import { requestHash } from '../../src/data/idempotency.ts';
import { useWorld } from '../support/world.ts';

const t = useWorld();
let first: pg.Client;
let observer: pg.Client;

beforeAll(async () => {
  first = new pg.Client({ connectionString: t.server.database.url });
  observer = new pg.Client({ connectionString: t.server.database.url });
  await first.connect();
  await observer.connect();
});
afterAll(async () => {
  await first?.end();
  await observer?.end();
});

/** Polls until a statement of the server's pool waits on a lock. */
async function serverWaitsOnALock(): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 15_000; await new Promise((r) => setImmediate(r))) {
    const { rows } = await observer.query(
      `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'deals-api' AND wait_event_type = 'Lock'`,
    );
    if (rows.length) return;
  }
  throw new Error('the create never waited on the first request');
}

describe('createCustomer with an Idempotency-Key whose first request commits mid-statement', () => {
  it('replays the first response (201, Idempotent-Replayed) and writes nothing itself', async () => {
    const key = randomUUID();
    const body = { last_name: 'Raced', first_name: 'Ada' };
    const { tenant, department } = t.world;
    const customerId = randomUUID();
    const headers = { Location: `${basePath}/customers/${customerId}`, ETag: '"1"' };
    // The first request, as the server would have written it, still uncommitted. It does not
    // take the advisory lock, so the second request's statement gets past it and, with no
    // response in its snapshot, writes; storing its response then waits on this row.
    await first.query('BEGIN');
    await first.query(`INSERT INTO customers (tenant_id, id, last_name, first_name) VALUES ($1, $2, $3, $4)`, [
      tenant.tenant_id,
      customerId,
      body.last_name,
      body.first_name,
    ]);
    await first.query(
      `INSERT INTO idempotency_records (tenant_id, key, request_hash, status_code, response_body, response_headers, expires_at)
       SELECT $1, $2, $3, 201, api_customer_json(c)::text, $5::jsonb, now() + interval '24 hours' FROM customers c WHERE c.tenant_id = $1 AND c.id = $4`,
      [tenant.tenant_id, key, requestHash('createCustomer', department.id, body), customerId, JSON.stringify(headers)],
    );
    const second = t.call('POST', '/customers', { body, headers: { 'Idempotency-Key': key } });
    try {
      await serverWaitsOnALock();
    } finally {
      await first.query('COMMIT');
    }
    const reply = await second;
    expect(reply.status, reply.text).toBe(201);
    expect(reply.headers.get('idempotent-replayed')).toBe('true');
    expect(reply.json.id).toBe(customerId);
    expect(reply.headers.get('location')).toBe(headers.Location);
    const { rows } = await t.server.db.pool.query('SELECT id::text FROM customers WHERE tenant_id = $1 AND last_name = $2', [
      tenant.tenant_id,
      'Raced',
    ]);
    expect(rows).toEqual([{ id: customerId }]);
  });
});
