// The database goes away, or every pooled connection is busy: requests get a 503 with
// Retry-After within a bounded wait, the process stays up, and service resumes by itself.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { referenceRequest, seedWorld, type World } from '../support/fixtures.ts';
import { client, expectProblem } from '../support/http.ts';
import { listenTestApp } from '../support/server.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

let database: TestDatabase;
let proxy: TcpProxy;
let db: Database;
let world: World;
let call: ReturnType<typeof client>;
let origin: string;
let close: () => Promise<void>;
const POOL_WAIT_MS = 500;

beforeAll(async () => {
  database = await createTestDatabase();
  const target = new URL(database.url);
  proxy = await startTcpProxy(target.hostname, Number(target.port));
  const viaProxy = new URL(database.url);
  viaProxy.port = String(proxy.port);
  db = createDatabase({
    url: viaProxy.toString(),
    poolMax: 2,
    poolWaitMs: POOL_WAIT_MS,
    statementTimeoutMs: 5000,
    onError: () => undefined,
  });
  world = await seedWorld(db);
  const app = await listenTestApp(db, { ready: async () => (await db.pool.query('SELECT 1')).rowCount === 1 });
  origin = app.origin;
  call = client(app.baseUrl, { apiKey: world.apiKey, departmentId: world.department.id });
  close = app.close;
});
afterAll(async () => {
  await close();
  await db.close();
  await proxy.close();
  await database.drop();
});

describe('database unreachable', () => {
  it('503 with Retry-After while it is gone, 2xx again when it is back, same process', async () => {
    expect((await call('POST', '/deals', { body: referenceRequest })).status).toBe(201);
    await proxy.cut();
    for (const [method, path] of [
      ['GET', '/deals'],
      ['POST', '/deals'],
      ['GET', '/steps'],
    ] as const) {
      const started = Date.now();
      const reply = await call(method, path, method === 'POST' ? { body: referenceRequest } : {});
      expectProblem(reply, 503);
      expect(reply.headers.get('retry-after')).toBe('1');
      expect(Date.now() - started).toBeLessThan(POOL_WAIT_MS + 3000);
    }
    expect((await fetch(`${origin}/readyz`)).status).toBe(503);
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    await proxy.restore();
    let status = 0;
    for (let i = 0; i < 20 && status !== 201; i++) {
      status = (await call('POST', '/deals', { body: referenceRequest })).status;
      if (status !== 201) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(201);
    expect((await fetch(`${origin}/readyz`)).status).toBe(200);
  });
});

describe('pool exhausted', () => {
  it('503 within the configured wait, then service resumes', async () => {
    const held: pg.PoolClient[] = [await db.pool.connect(), await db.pool.connect()];
    try {
      const started = Date.now();
      const reply = await call('GET', '/deals');
      const waited = Date.now() - started;
      expectProblem(reply, 503);
      expect(reply.headers.get('retry-after')).toBe('1');
      expect(waited).toBeGreaterThanOrEqual(POOL_WAIT_MS - 50);
      expect(waited).toBeLessThan(POOL_WAIT_MS + 1500);
    } finally {
      for (const c of held) c.release();
    }
    expect((await call('GET', '/deals')).status).toBe(200);
  });
});
