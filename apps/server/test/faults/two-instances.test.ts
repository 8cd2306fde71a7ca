// Two server processes on one database, as behind a load balancer: nothing a client relies on
// may live in one process's memory. Idempotency-Key, ETag/If-Match and pagination cursors must
// hold whichever instance answers each request.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { referenceRequest } from '../support/fixtures.ts';
import type { MainProcess } from '../support/process.ts';
import { api, type Exchange, type SendOptions, seedTenant, send, startApi, stopApi, type Tenant } from './support.ts';

let database: TestDatabase;
let tenant: Tenant;
let a: MainProcess;
let b: MainProcess;
let sql: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  tenant = await seedTenant(database.url);
  // Responses are validated against the contract in both processes.
  [a, b] = await Promise.all([
    startApi(database.url, { VALIDATE_RESPONSES: 'true' }),
    startApi(database.url, { VALIDATE_RESPONSES: 'true' }),
  ]);
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await Promise.all([stopApi(a), stopApi(b)]);
  await database?.drop();
});

const call = (instance: MainProcess, method: string, path: string, options: SendOptions = {}) =>
  send(instance.origin, method, `${api}${path}`, { tenant, timeoutMs: 15_000, ...options });
const json = (e: Exchange) => JSON.parse(e.text!);
const replayed = (e: Exchange) => e.headers?.['idempotent-replayed'] === 'true';

async function dealsForKey(key: string): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deals d
     JOIN idempotency_records r ON r.tenant_id = d.tenant_id AND (r.response_body::json)->>'id' = d.id::text
     WHERE r.tenant_id = $1 AND r.key = $2`,
    [tenant.tenantId, key],
  );
  return rows[0]!.n;
}

describe('Idempotency-Key across instances', () => {
  it('a retry that lands on the other instance replays the first response', async () => {
    const key = randomUUID();
    const headers = { 'Idempotency-Key': key };
    const first = await call(a, 'POST', '/deals', { body: referenceRequest, headers });
    const retry = await call(b, 'POST', '/deals', { body: referenceRequest, headers });
    expect(first.status).toBe(201);
    expect(replayed(first)).toBe(false);
    expect(retry.status).toBe(201);
    expect(replayed(retry)).toBe(true);
    expect(json(retry)).toEqual(json(first));
    expect(retry.headers?.location).toBe(first.headers?.location);
    expect(retry.headers?.etag).toBe(first.headers?.etag);
    expect(await dealsForKey(key)).toBe(1);
    // The same key with another body is refused on either instance, and writes nothing.
    const other = await call(a, 'POST', '/deals', { body: { ...referenceRequest, name: 'Another deal' }, headers });
    expect(other.status).toBe(422);
    expect(await dealsForKey(key)).toBe(1);
  });

  it('the same key sent to both at once creates one deal: one 201, the other a 409 or the replay', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 12; round++) {
      const key = randomUUID();
      const headers = { 'Idempotency-Key': key };
      // Round 0 holds the deals table so both statements queue and then start together; the
      // other rounds race freely.
      const blocker = round === 0 ? new pg.Client({ connectionString: database.url }) : undefined;
      if (blocker) {
        await blocker.connect();
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE deals IN EXCLUSIVE MODE');
      }
      const both = Promise.all([
        call(a, 'POST', '/deals', { body: referenceRequest, headers }),
        call(b, 'POST', '/deals', { body: referenceRequest, headers }),
      ]);
      if (blocker) {
        await until2Waiting();
        await blocker.query('COMMIT');
        await blocker.end();
      }
      const replies = await both;
      const created = replies.filter((r) => r.status === 201 && !replayed(r));
      const others = replies.filter((r) => !created.includes(r));
      outcomes.push(others.map((r) => (r.status === 409 ? '409' : replayed(r) ? 'replay' : String(r.status))).join());
      expect(created, JSON.stringify(replies.map((r) => [r.status, r.text]))).toHaveLength(1);
      for (const other of others) {
        if (other.status === 409) expect(other.headers?.['retry-after']).toBe('1');
        else
          expect({ status: other.status, replayed: replayed(other), body: json(other) }).toEqual({
            status: 201,
            replayed: true,
            body: json(created[0]!),
          });
      }
      expect(await dealsForKey(key)).toBe(1);
      // Whoever got the 409 retries, on the other instance, and gets the replay.
      const retry = await call(b, 'POST', '/deals', { body: referenceRequest, headers });
      expect(retry.status).toBe(201);
      expect(replayed(retry)).toBe(true);
      expect(json(retry)).toEqual(json(created[0]!));
    }
    console.info(`two instances, same key at once: the second request got ${JSON.stringify(outcomes)}`);
  }, 60_000);
});

async function until2Waiting() {
  const observer = new pg.Client({ connectionString: database.url });
  await observer.connect();
  try {
    for (const deadline = Date.now() + 15_000; ; ) {
      const { rows } = await observer.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'deals-api' AND wait_event_type = 'Lock'`,
      );
      if (rows[0]!.n >= 2) return;
      if (Date.now() > deadline) throw new Error('the two creates never queued on the lock');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await observer.end();
  }
}

describe('ETag / If-Match across instances', () => {
  it('a stale If-Match is refused by the instance that did not see the update', async () => {
    const created = await call(a, 'POST', '/deals', { body: referenceRequest });
    const id = json(created).id as string;
    const read = await call(a, 'GET', `/deals/${id}`);
    expect(read.headers?.etag).toBe('"1"');

    const update = await call(b, 'PATCH', `/deals/${id}`, { body: { name: 'Renamed on B' }, headers: { 'If-Match': read.headers!.etag! } });
    expect(update.status).toBe(200);
    expect(update.headers?.etag).toBe('"2"');

    const stale = await call(a, 'PATCH', `/deals/${id}`, { body: { name: 'Renamed on A' }, headers: { 'If-Match': read.headers!.etag! } });
    expect(stale.status).toBe(412);
    const now = await call(a, 'GET', `/deals/${id}`);
    expect(now.headers?.etag).toBe('"2"');
    expect(json(now).name).toBe('Renamed on B');

    // Two writers with the same current ETag, one on each instance: exactly one wins.
    const [onA, onB] = await Promise.all([
      call(a, 'PATCH', `/deals/${id}`, { body: { volume: 1 }, headers: { 'If-Match': '"2"' } }),
      call(b, 'PATCH', `/deals/${id}`, { body: { volume: 2 }, headers: { 'If-Match': '"2"' } }),
    ]);
    expect([onA.status, onB.status].sort()).toEqual([200, 412]);
    const winner = onA.status === 200 ? onA : onB;
    const final = await call(b, 'GET', `/deals/${id}`);
    expect(final.headers?.etag).toBe('"3"');
    expect(json(final).volume).toBe(json(winner).volume);
  });
});

describe('pagination across instances', () => {
  it('a cursor from one instance continues on the other: every deal once, in the single-instance order', async () => {
    // A department of its own would need another key; the deals above are part of the listing.
    for (let i = 0; i < 7; i++)
      expect((await call(b, 'POST', '/deals', { body: { ...referenceRequest, name: `Paged ${i}` } })).status).toBe(201);
    const everything = json(await call(a, 'GET', '/deals?limit=100&sort=name')).data.map((d: { id: string }) => d.id) as string[];

    const paged: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page++) {
      const instance = page % 2 === 0 ? a : b;
      const reply: Exchange = await call(instance, 'GET', `/deals?limit=3&sort=name${cursor ? `&cursor=${cursor}` : ''}`);
      expect(reply.status, reply.text).toBe(200);
      const body = json(reply);
      paged.push(...body.data.map((d: { id: string }) => d.id));
      cursor = body.next_cursor;
      // A deal created mid-walk sorts before the cursor ("A..." < "Paged"): it must neither
      // appear later nor shift what follows.
      if (page === 1) expect((await call(a, 'POST', '/deals', { body: { ...referenceRequest, name: 'A late deal' } })).status).toBe(201);
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    expect(new Set(paged).size).toBe(paged.length);
    expect(paged).toEqual(everything);
  });
});

// Both processes served throughout; neither logged a 5xx.
describe('afterwards', () => {
  it('neither instance answered 5xx', () => {
    for (const instance of [a, b]) {
      const statuses = instance
        .output()
        .split('\n')
        .filter((l) => l.includes('"msg":"request"'))
        .map((l) => JSON.parse(l).status as number);
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
    }
  });
});
