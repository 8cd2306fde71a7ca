// Database trouble is recognised by code, never by message text (http/error-handler.ts). pg
// gives two failures no code; LabellingPool (db/connection-failures.ts) gives them the
// SQLSTATE PostgreSQL's own clients use, where they happen. Each made to happen for real.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabellingPool } from '../../src/db/connection-failures.ts';
import { toProblem } from '../../src/http/error-handler.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

let database: TestDatabase;
let observer: pg.Client;
beforeAll(async () => {
  database = await createTestDatabase();
  observer = new pg.Client({ connectionString: database.url });
  await observer.connect();
});
afterAll(async () => {
  await observer?.end();
  await database?.drop();
});

/** The error `work` rejects with. */
const failure = (work: Promise<unknown>) =>
  work.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: Error & { code?: string }) => error,
  );

describe('LabellingPool', () => {
  it('labels a checkout that waited too long for a busy pool 08001, keeping the message; the API answers 503', async () => {
    const pool = new LabellingPool({ connectionString: database.url, max: 1, connectionTimeoutMillis: 200 });
    const held = await pool.connect();
    try {
      const viaQuery = await failure(pool.query('SELECT 1'));
      const viaConnect = await failure(pool.connect());
      for (const error of [viaQuery, viaConnect]) {
        expect(error).toMatchObject({ code: '08001', message: 'timeout exceeded when trying to connect' });
        expect(toProblem(error).status).toBe(503);
      }
    } finally {
      held.release();
      await pool.end();
    }
  });

  it('labels a connection that ends under a statement 08006; the API answers 503', async () => {
    const target = new URL(database.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port));
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const pool = new LabellingPool({ connectionString: viaProxy.toString(), max: 1, application_name: 'labelling-pool-test' });
    pool.on('error', () => undefined);
    try {
      const sleeping = failure(pool.query('SELECT pg_sleep(30)'));
      for (;;) {
        const { rows } = await observer.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = 'labelling-pool-test' AND query LIKE 'SELECT pg_sleep%'`,
        );
        if (rows.length) break;
      }
      await proxy.cut();
      const error = await sleeping;
      expect(error).toMatchObject({ code: '08006', message: 'Connection terminated unexpectedly' });
      expect(toProblem(error).status).toBe(503);
      // A code the error already has is kept: the proxy now refuses connections.
      const refused = await failure(pool.query('SELECT 1'));
      expect(refused.code).toBe('ECONNREFUSED');
    } finally {
      await pool.end();
      await proxy.close();
      await observer.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'labelling-pool-test'`);
    }
  });

  it('is needed: the same messages without a code are not taken for an outage (500, not 503)', () => {
    for (const message of ['timeout exceeded when trying to connect', 'Connection terminated unexpectedly']) {
      expect(toProblem(new Error(message)).status).toBe(500);
    }
  });
});
