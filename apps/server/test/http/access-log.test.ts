// The request log an operator reads: one JSON line per request (request id, method, route
// template, status, duration, tenant), 5xx at error level with the cause, requests whose client
// left logged as aborted, and never a request header: the API key appears in no line.
import http from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basePath } from '../../src/contract.ts';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { referenceRequest, seedWorld, type World } from '../support/fixtures.ts';
import { client } from '../support/http.ts';
import { LEVEL, type LogLine, logCapture } from '../support/log-capture.ts';
import { type ListeningApp, listenTestApp } from '../support/server.ts';

let database: TestDatabase;
let db: Database;
let world: World;
let app: ListeningApp;
let call: ReturnType<typeof client>;
let sql: pg.Client;
const logs = logCapture();
const WRONG_KEY = 'dk_00000000_ThisKeyDoesNotExistButMustNotBeLoggedEither';

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, poolMax: 4, poolWaitMs: 1000, statementTimeoutMs: 5000 });
  world = await seedWorld(db);
  app = await listenTestApp(db, { log: createLogger('info', logs.destination), ready: async () => true });
  call = client(app.baseUrl, { apiKey: world.apiKey, departmentId: world.department.id });
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await app?.close();
  await db?.close();
  await database?.drop();
});

const requestLine = (id: string | null) => logs.logged((l) => l.req_id === id && (l.msg === 'request' || l.msg === 'request aborted'));

describe('access log', () => {
  it('one line per request: its X-Request-Id, method, route template, status, duration and tenant', async () => {
    const created = await call('POST', '/deals', { body: referenceRequest });
    expect(created.status).toBe(201);
    const read = await call('GET', `/deals/${created.json.id}`, { headers: { 'X-Request-Id': 'caller-chosen-id.42' } });
    expect(read.headers.get('x-request-id')).toBe('caller-chosen-id.42');

    const post = await requestLine(created.headers.get('x-request-id'));
    expect(post).toMatchObject({
      level: LEVEL.info,
      method: 'POST',
      route: `${basePath}/deals`,
      status: 201,
      tenant_id: world.tenant.tenant_id,
    });
    expect(post.duration_ms).toBeTypeOf('number');
    // The contract's template, not the id: lines group by operation.
    expect(await requestLine('caller-chosen-id.42')).toMatchObject({ method: 'GET', route: `${basePath}/deals/{deal_id}`, status: 200 });
    expect(logs.lines().filter((l) => l.req_id === 'caller-chosen-id.42')).toHaveLength(1);
  });

  it('4xx at info level, without a tenant when the key is not known', async () => {
    const refused = await call('GET', '/deals', { apiKey: WRONG_KEY });
    expect(refused.status).toBe(401);
    const line = await requestLine(refused.headers.get('x-request-id'));
    expect(line).toMatchObject({ level: LEVEL.info, status: 401, route: `${basePath}/deals` });
    expect(line.tenant_id).toBeUndefined();
  });

  it('5xx at error level, with the error that caused it', async () => {
    // A real fault: the table a statement needs is gone (SQLSTATE 42P01, not an outage).
    await sql.query('ALTER TABLE deals RENAME TO deals_gone');
    let failed: Awaited<ReturnType<typeof call>> | undefined;
    try {
      failed = await call('GET', '/deals');
    } finally {
      await sql.query('ALTER TABLE deals_gone RENAME TO deals');
    }
    expect(failed.status).toBe(500);
    expect(failed.text).not.toContain('deals_gone');
    const line = await requestLine(failed.headers.get('x-request-id'));
    expect(line).toMatchObject({ level: LEVEL.error, msg: 'request', status: 500, route: `${basePath}/deals` });
    expect((line.err as { message: string }).message).toMatch(/relation "deals" does not exist/);
  });

  it('a request whose client went away before the answer is logged as aborted, with no status', async () => {
    // The create waits on this lock until the client has given up.
    await sql.query('BEGIN');
    await sql.query('LOCK TABLE deals IN EXCLUSIVE MODE');
    const body = JSON.stringify(referenceRequest);
    const req = http.request(`${app.baseUrl}/deals`, {
      method: 'POST',
      headers: {
        'X-Api-Key': world.apiKey,
        'X-Department-Id': world.department.id,
        'Content-Type': 'application/json',
        'X-Request-Id': 'left-early',
      },
    });
    req.on('error', () => undefined);
    req.end(body);
    // Asked outside the locking transaction, which would see a frozen pg_stat_activity.
    const observer = new pg.Client({ connectionString: database.url });
    await observer.connect();
    await until(async () => {
      const { rows } = await observer.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'deals-api' AND wait_event_type = 'Lock'`,
      );
      return rows[0]!.n > 0;
    }).finally(() => observer.end());
    req.destroy();
    const line = await requestLine('left-early');
    await sql.query('COMMIT');
    expect(line).toMatchObject({ level: LEVEL.info, msg: 'request aborted', method: 'POST', route: `${basePath}/deals` });
    expect(line.status).toBeUndefined();
  });

  it('probes are logged at debug level, below the default', async () => {
    expect((await fetch(`${app.origin}/readyz`)).status).toBe(200);
    expect((await fetch(`${app.origin}/healthz`)).status).toBe(200);
    const probes = logs.lines().filter((l) => l.route === '/readyz' || l.route === '/healthz');
    expect(probes).toEqual([]);
  });

  it('never logs a request header: no API key, valid or not, in any line', () => {
    const text = logs.text();
    expect(logs.lines().filter((l: LogLine) => l.msg === 'request').length).toBeGreaterThanOrEqual(4);
    expect(text).not.toContain(world.apiKey);
    expect(text).not.toContain(WRONG_KEY);
    expect(text.toLowerCase()).not.toContain('x-api-key');
    expect(text.toLowerCase()).not.toContain('headers');
  });
});

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
