// kill -9 under load. A crash can fall between "PostgreSQL committed the deal" and "the client
// read the 201": the client sees a reset and retries with the same Idempotency-Key, against a
// new process on another port. The promise of data/idempotency.ts is that the retry gets the
// first response back (a replay), never a second deal, and that no write is ever half done.
// (Pool exhaustion is covered in test/http/availability.test.ts.)
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { referenceRequest } from '../support/fixtures.ts';
import type { MainProcess } from '../support/process.ts';
import { api, type Exchange, isSuccess, seedTenant, send, sleep, startApi, stopApi, type Tenant, tally, until } from './support.ts';

const DEALS = 150;
const WRITERS = 8;
const KILL_AFTER = 50;
/** A key that gets no 2xx within this long fails the test (the restart takes a few seconds). */
const KEY_DEADLINE_MS = 40_000;

// Raised so that the statement orphaned in the second test is not cancelled (default 5 s) before
// the test releases it, however slow a loaded machine makes the steps in between. No statement
// of the first test waits on anything.
const env = { DB_STATEMENT_TIMEOUT_MS: '60000' };

let database: TestDatabase;
let tenant: Tenant;
const processes: MainProcess[] = [];
/** The process the first test leaves running; the second test kills it, saving a start. */
let running: MainProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  tenant = await seedTenant(database.url);
});
afterAll(async () => {
  for (const p of processes) await stopApi(p);
  await database?.drop();
});

type Acknowledged = { key: string; attempts: number; response: Exchange };

describe('kill -9 of the server under a retrying writer', () => {
  it('every acknowledged Idempotency-Key maps to exactly one complete deal, and nothing else was written', async () => {
    const first = await startApi(database.url, env);
    processes.push(first);
    // The writer reads the current origin before every attempt, as a client behind a load
    // balancer or a service name would reach whichever process is up.
    let origin = first.origin;
    const agents = new Map<string, http.Agent>();
    const agentFor = (o: string) => agents.get(o) ?? agents.set(o, new http.Agent({ keepAlive: true, maxSockets: WRITERS })).get(o)!;

    const acknowledged: Acknowledged[] = [];
    const failedAttempts: Exchange[] = [];
    const unexpected: string[] = [];
    let issued = 0;
    let inFlight = 0;
    let stop: Error | undefined;

    async function writer() {
      while (issued < DEALS && !stop) {
        issued++;
        const key = randomUUID();
        const deadline = Date.now() + KEY_DEADLINE_MS;
        for (let attempt = 1; !stop; attempt++) {
          if (Date.now() > deadline) {
            stop = new Error(`key ${key}: no 2xx within ${KEY_DEADLINE_MS} ms (${attempt - 1} attempts)`);
            break;
          }
          const target = origin;
          inFlight++;
          const response = await send(target, 'POST', `${api}/deals`, {
            tenant,
            body: referenceRequest,
            headers: { 'Idempotency-Key': key },
            agent: agentFor(target),
            timeoutMs: 15_000,
          });
          inFlight--;
          if (isSuccess(response)) {
            acknowledged.push({ key, attempts: attempt, response });
            break;
          }
          failedAttempts.push(response);
          // Retried like the others, but a 500 or a 422 for an unchanged body is a defect.
          if (response.status !== undefined && response.status !== 409 && response.status !== 503) {
            unexpected.push(`${response.status} ${response.text}`);
          }
          await sleep(Math.min(25 * attempt, 250));
        }
      }
    }

    const writers = Array.from({ length: WRITERS }, writer);
    await until(`${KILL_AFTER} acknowledged deals`, () => acknowledged.length >= KILL_AFTER || stop !== undefined, 30_000);
    const inFlightAtKill = inFlight;
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull(); // killed by the signal, no exit code
    const second = await startApi(database.url, env);
    processes.push(second);
    origin = second.origin;
    await Promise.all(writers);
    for (const a of agents.values()) a.destroy();
    if (stop) throw stop;

    // The crash happened with requests on the wire, and the writer saw it.
    expect(inFlightAtKill).toBeGreaterThan(0);
    const failures = tally(failedAttempts);
    expect(
      Object.keys(failures).some((k) => ['ECONNRESET', 'socket hang up', 'ECONNREFUSED'].includes(k)),
      JSON.stringify(failures),
    ).toBe(true);
    expect(unexpected).toEqual([]);
    expect(acknowledged).toHaveLength(DEALS);

    const dealIdOf = new Map(acknowledged.map((a) => [a.key, JSON.parse(a.response.text!).id as string]));
    expect(new Set(dealIdOf.values()).size).toBe(DEALS);

    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      const t = [tenant.tenantId];
      const { rows: deals } = await sql.query<{ id: string; links: number; step_changes: number }>(
        `SELECT d.id,
                (SELECT count(*)::int FROM deal_customers dc WHERE dc.tenant_id = d.tenant_id AND dc.deal_id = d.id) AS links,
                (SELECT count(*)::int FROM deal_step_changes s WHERE s.tenant_id = d.tenant_id AND s.deal_id = d.id) AS step_changes
         FROM deals d WHERE d.tenant_id = $1`,
        t,
      );
      const { rows: records } = await sql.query<{ key: string; deal_id: string; status_code: number }>(
        `SELECT key, (response_body::json)->>'id' AS deal_id, status_code FROM idempotency_records WHERE tenant_id = $1`,
        t,
      );
      const {
        rows: [customers],
      } = await sql.query<{ total: number; unlinked: number; multiply_linked: number }>(
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM deal_customers dc WHERE dc.tenant_id = c.tenant_id AND dc.customer_id = c.id))::int AS unlinked,
                count(*) FILTER (WHERE (SELECT count(*) FROM deal_customers dc WHERE dc.tenant_id = c.tenant_id AND dc.customer_id = c.id) > 1)::int AS multiply_linked
         FROM customers c WHERE c.tenant_id = $1`,
        t,
      );

      // One deal per successful key, and the deal the client was told about is the one stored.
      expect(deals).toHaveLength(DEALS);
      expect(new Set(deals.map((d) => d.id))).toEqual(new Set(dealIdOf.values()));
      expect(records).toHaveLength(DEALS);
      expect(new Map(records.map((r) => [r.key, r.deal_id]))).toEqual(dealIdOf);
      expect(records.every((r) => r.status_code === 201)).toBe(true);
      // No partial writes: each deal has its two new customers, two links and its first step change.
      expect(deals.filter((d) => d.links !== 2 || d.step_changes !== 1)).toEqual([]);
      expect(customers).toEqual({ total: 2 * DEALS, unlinked: 0, multiply_linked: 0 });
    } finally {
      await sql.end();
    }

    // Asking again with every key, on the new process, replays the acknowledged response.
    const agent = new http.Agent({ keepAlive: true, maxSockets: WRITERS });
    const replays: { key: string; original: Exchange; replay: Exchange }[] = [];
    const queue = [...acknowledged];
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (let a = queue.shift(); a; a = queue.shift()) {
          const replay = await send(second.origin, 'POST', `${api}/deals`, {
            tenant,
            body: referenceRequest,
            headers: { 'Idempotency-Key': a.key },
            agent,
          });
          replays.push({ key: a.key, original: a.response, replay });
        }
      }),
    );
    agent.destroy();
    const mismatches = replays.filter(
      ({ original, replay }) =>
        replay.status !== original.status ||
        replay.headers?.['idempotent-replayed'] !== 'true' ||
        replay.text !== original.text ||
        replay.headers?.location !== original.headers?.location ||
        replay.headers?.etag !== original.headers?.etag,
    );
    expect(mismatches.map((m) => `${m.key}: ${m.replay.status} ${m.replay.text}`)).toEqual([]);

    const recovered = acknowledged.filter((a) => a.attempts > 1);
    console.info(
      `kill -9: ${inFlightAtKill} requests in flight at the kill; failed attempts ${JSON.stringify(failures)}; ` +
        `${recovered.length} keys needed retries, ${recovered.filter((a) => a.response.headers?.['idempotent-replayed'] === 'true').length} of them were answered by a replay`,
    );
    running = second;
  }, 120_000);

  it('a statement orphaned by the kill keeps its key: the retry gets 409 until it commits, then the replay', async () => {
    // Two sessions: pg_stat_activity is a snapshot taken once per transaction, so the session
    // holding the blocking transaction cannot watch the create arrive.
    const sql = new pg.Client({ connectionString: database.url });
    const observer = new pg.Client({ connectionString: database.url });
    await sql.connect();
    await observer.connect();
    // The instance the retry reaches starts while the other one is set up to die: what matters
    // here is the orphaned statement, and a start after the kill would only cost time.
    const starting = startApi(database.url, env);
    starting.then(
      (p) => processes.push(p),
      () => undefined,
    );
    let second: MainProcess | undefined;
    try {
      // Holding the department's steps FOR UPDATE stalls the create at its foreign-key check,
      // which runs at the end of the statement: after it took the key's advisory lock.
      await sql.query('BEGIN');
      await sql.query('SELECT id FROM steps WHERE tenant_id = $1 AND department_id = $2 FOR UPDATE', [
        tenant.tenantId,
        tenant.departmentId,
      ]);
      const first = running ?? (await startApi(database.url, env));
      if (!processes.includes(first)) processes.push(first);
      running = undefined;
      const key = randomUUID();
      const post = (origin: string) =>
        send(origin, 'POST', `${api}/deals`, { tenant, body: referenceRequest, headers: { 'Idempotency-Key': key }, timeoutMs: 15_000 });
      const lost = post(first.origin);
      const stalledCreates = async () =>
        (
          await observer.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity a
             WHERE a.application_name = 'deals-api' AND a.wait_event_type = 'Lock' AND a.query LIKE '%idem_lock%'
               AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted)`,
          )
        ).rows[0].n as number;
      await until('the create to hold its key and wait at the foreign-key check', async () => (await stalledCreates()) === 1, 20_000);

      first.child.kill('SIGKILL');
      await first.exited;
      expect((await lost).error).toMatch(/socket hang up|ECONNRESET/);
      // PostgreSQL does not notice a dead client while a statement waits on a lock.
      expect(await stalledCreates()).toBe(1);

      second = await starting;
      const whileOrphaned = await post(second.origin);
      expect(whileOrphaned.status).toBe(409);
      expect(whileOrphaned.headers?.['retry-after']).toBe('1');

      await sql.query('COMMIT');
      let answer: Exchange | undefined;
      await until(
        'a 2xx for the retried key',
        async () => {
          answer = await post(second!.origin);
          return isSuccess(answer);
        },
        20_000,
        100,
      );
      // The orphan committed after its client died; the retry is answered with its response.
      expect(answer!.status).toBe(201);
      expect(answer!.headers?.['idempotent-replayed']).toBe('true');
      const { rows } = await observer.query(
        `SELECT (SELECT count(*)::int FROM idempotency_records WHERE tenant_id = $1 AND key = $2) AS records,
                (SELECT count(*)::int FROM deals WHERE tenant_id = $1 AND id = $3) AS deals`,
        [tenant.tenantId, key, JSON.parse(answer!.text!).id],
      );
      expect(rows[0]).toEqual({ records: 1, deals: 1 });
    } finally {
      await sql.query('ROLLBACK').catch(() => undefined);
      await sql.end();
      await observer.end();
      await stopApi(second);
    }
  }, 90_000);
});
