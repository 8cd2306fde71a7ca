// Each way PostgreSQL or the path to it can fail a request that is already running, made to
// happen deterministically: the client must get 503 with Retry-After ("retry shortly"), never a
// 500 that reads as a bug of ours, and service must resume by itself. Each failure reaches the
// error handler in the shape Prisma 7's pg adapter gives it: a SQLSTATE (`code`), or for socket
// errors only a `kind` (DatabaseNotReachable, ConnectionClosed, SocketTimeout).
// (An unreachable database and an exhausted pool: test/http/availability.test.ts. PostgreSQL
// stopping and starting under load: database-restart.test.ts.)
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { referenceRequest } from '../support/fixtures.ts';
import { client, expectProblem, type Reply } from '../support/http.ts';
import { listenTestApp } from '../support/server.ts';
import { seedTenant, startResettingProxy, type Tenant, until } from './support.ts';

const STATEMENT_TIMEOUT_MS = 300;

let database: TestDatabase;
let tenant: Tenant;
/** Holds locks that keep the app's statement waiting, inside a transaction. */
let blocker: pg.Client;
/** Watches pg_stat_activity; outside any transaction, so it sees the present. */
let observer: pg.Client;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  tenant = await seedTenant(database.url);
  blocker = new pg.Client({ connectionString: database.url });
  observer = new pg.Client({ connectionString: database.url });
  await blocker.connect();
  await observer.connect();
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await blocker?.end();
  await observer?.end();
  await database?.drop();
});

/** The real app on its own pool, with every response validated against the contract. */
async function startApp(url: string, statementTimeoutMs = 5000) {
  const db = createDatabase({ url, poolMax: 2, poolWaitMs: 1000, statementTimeoutMs, onError: () => undefined });
  const app = await listenTestApp(db);
  const call = client(app.baseUrl, tenant);
  cleanups.push(async () => {
    await app.close();
    await db.close();
  });
  return call;
}

const lockDepartmentSteps = () =>
  blocker.query('SELECT id FROM steps WHERE tenant_id = $1 AND department_id = $2 FOR UPDATE', [tenant.tenantId, tenant.departmentId]);

/** The backend of the app's statement that waits on the blocker's lock, once there is one. */
async function waitingBackend(): Promise<number> {
  let pid: number | undefined;
  await until(
    "the app's statement to wait on the lock",
    async () => {
      const { rows } = await observer.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'deals-api' AND wait_event_type = 'Lock'`,
      );
      pid = rows[0]?.pid;
      return pid !== undefined;
    },
    15_000,
    20,
  );
  return pid!;
}

function expectRetryLater(reply: Reply) {
  expect(reply.status, reply.text).toBe(503);
  expectProblem(reply, 503);
  expect(reply.headers.get('retry-after')).toBe('1');
}

describe('a statement cancelled by statement_timeout (57014)', () => {
  let call: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    call = await startApp(database.url, STATEMENT_TIMEOUT_MS);
  });

  it('createDeal waiting on a row lock: 503 with Retry-After, and service resumes', async () => {
    await blocker.query('BEGIN');
    await lockDepartmentSteps();
    const started = Date.now();
    const reply = await call('POST', '/deals', { body: referenceRequest }).finally(() => blocker.query('ROLLBACK'));
    expect(Date.now() - started).toBeLessThan(STATEMENT_TIMEOUT_MS + 3000);
    expectRetryLater(reply);
    expect((await call('POST', '/deals', { body: referenceRequest })).status).toBe(201);
  });

  it('listDeals waiting on a table lock: 503 with Retry-After, and service resumes', async () => {
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE deals IN ACCESS EXCLUSIVE MODE');
    const reply = await call('GET', '/deals').finally(() => blocker.query('ROLLBACK'));
    expectRetryLater(reply);
    expect((await call('GET', '/deals')).status).toBe(200);
  });
});

describe('the backend is terminated mid-statement (57P01, a failover or an administrator)', () => {
  it('503 with Retry-After, and the pool replaces the connection', async () => {
    const call = await startApp(database.url);
    await blocker.query('BEGIN');
    try {
      await lockDepartmentSteps();
      const pending = call('POST', '/deals', { body: referenceRequest });
      await observer.query('SELECT pg_terminate_backend($1)', [await waitingBackend()]);
      expectRetryLater(await pending);
    } finally {
      await blocker.query('ROLLBACK');
    }
    expect((await call('POST', '/deals', { body: referenceRequest })).status).toBe(201);
  });
});

describe('the connection is reset mid-statement (TCP RST: a NAT, proxy or load balancer drops it)', () => {
  // pg reports ECONNRESET; Prisma's adapter turns it into `{ kind: 'ConnectionClosed' }`,
  // "Server has closed the connection.", with no SQLSTATE or errno left on it.
  it('503 with Retry-After, and service resumes', async () => {
    const target = new URL(database.url);
    const proxy = await startResettingProxy(target.hostname, Number(target.port));
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const call = await startApp(viaProxy.toString());
    await blocker.query('BEGIN');
    try {
      await lockDepartmentSteps();
      const pending = call('POST', '/deals', { body: referenceRequest });
      await waitingBackend();
      proxy.resetAll();
      expectRetryLater(await pending);
    } finally {
      await blocker.query('ROLLBACK');
    }
    expect((await call('POST', '/deals', { body: referenceRequest })).status).toBe(201);
  });
});

describe('PostgreSQL refuses a new connection: too many connections (53300)', () => {
  // What too many instances times DB_POOL_MAX meet at max_connections (or a role's limit).
  it('503 with Retry-After, and service resumes when a slot frees up', async () => {
    // A role allowed one connection (superusers ignore connection limits), with the rights the
    // app needs; the test takes the one slot.
    const role = `deals_faults_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'faults' CONNECTION LIMIT 1`);
    await admin.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    cleanups.push(async () => {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${role}'`);
      await admin.query(`DROP OWNED BY ${role}`);
      await admin.query(`DROP ROLE ${role}`);
      await admin.end();
    });
    const asRole = new URL(database.url);
    asRole.username = role;
    asRole.password = 'faults';
    const slot = new pg.Client({ connectionString: asRole.toString() });
    await slot.connect();
    const call = await startApp(asRole.toString());
    try {
      expectRetryLater(await call('GET', '/deals'));
    } finally {
      await slot.end();
    }
    // The slot is released a moment after end() returns.
    let status = 0;
    await until('a 200 once the slot is free', async () => (status = (await call('GET', '/deals')).status) === 200, 10_000, 100);
    expect(status).toBe(200);
  });
});
