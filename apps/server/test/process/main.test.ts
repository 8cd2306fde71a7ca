// `npm start` as a user meets it: the package's start script (the compiled dist/) as a real
// process on a real port: what it prints, how it exits. What the server does once started is
// tested in-process (start.test.ts and the rest of the suite).

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basePath } from '../../src/contract.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { assertBuilt, printedDemo, startMain } from '../support/process.ts';

const api = basePath;

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('npm start on DATABASE_URL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('runs dist/, prints a demo key and a curl that answers 201, logs JSON lines without the key, drains on SIGTERM and exits 0', async () => {
    assertBuilt();
    const main = await startMain({ DATABASE_URL: database.url }, 'npm start');
    // The banner and the log lines reach stdout by different writers, in either order.
    await until('the demo banner', () => main.output().includes('More keys:'));
    const demo = printedDemo(main.output());
    const headers = { 'X-Api-Key': demo.apiKey, 'X-Department-Id': demo.departmentId, 'Content-Type': 'application/json' };
    const created = await fetch(`${main.origin}${api}/deals`, { method: 'POST', headers, body: demo.curlBody });
    expect(created.status).toBe(201);
    const deal = await created.json();
    expect(deal).toMatchObject({ name: 'Example Dealname', volume: 15000, department_id: demo.departmentId });
    expect(deal.customers).toHaveLength(2);

    // Hold the deals table so that requests are in flight when SIGTERM arrives.
    const blocker = new pg.Client({ connectionString: database.url });
    const observer = new pg.Client({ connectionString: database.url });
    await Promise.all([blocker.connect(), observer.connect()]);
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE deals IN EXCLUSIVE MODE');
    const inFlight = Array.from({ length: 6 }, () =>
      fetch(`${main.origin}${api}/deals`, { method: 'POST', headers, body: demo.curlBody }).then(
        (r) => r.status,
        (e) => String(e),
      ),
    );
    await until('six creates waiting on the lock', async () => {
      const { rows } = await observer.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'deals-api' AND wait_event_type = 'Lock'`,
      );
      return rows[0]!.n === 6;
    });
    await observer.end();
    main.child.kill('SIGTERM');
    await until('the drain to begin', () => main.output().includes('"msg":"draining'));
    await blocker.query('COMMIT');
    await blocker.end();
    expect(await Promise.all(inFlight)).toEqual([201, 201, 201, 201, 201, 201]);
    const started = Date.now();
    expect(await main.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);

    const logLines = main
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    const requests = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(7);
    expect(requests[0]).toMatchObject({ method: 'POST', route: `${api}/deals`, status: 201 });
    expect(logLines.join('\n')).not.toContain(demo.apiKey);

    const again = await startMain({ DATABASE_URL: database.url }, 'npm start');
    expect(again.output()).not.toContain('X-Api-Key:');
    again.child.kill('SIGINT');
    expect(await again.exited).toBe(0);
  }, 120_000);

  it('exits 2 with a clear message for invalid configuration', async () => {
    await expect(startMain({ DATABASE_URL: database.url, RATE_LIMIT_PER_SECOND: 'lots' })).rejects.toThrow(
      /exited with 2[\s\S]*RATE_LIMIT_PER_SECOND must be an integer/,
    );
  }, 60_000);
});
