// `npm start` as a user meets it: a real process on a real port.
import { basePath } from '../../src/contract.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { freePort } from '../support/free-port.ts';
import { printedDemo, startMain } from '../support/process.ts';

const api = basePath;

describe('npm start on DATABASE_URL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('seeds a demo tenant once, serves the printed curl with 201, logs JSON without secrets, drains on SIGTERM', async () => {
    const main = await startMain({ DATABASE_URL: database.url });
    const demo = printedDemo(main.output());
    const headers = { 'X-Api-Key': demo.apiKey, 'X-Department-Id': demo.departmentId, 'Content-Type': 'application/json' };
    const created = await fetch(`${main.origin}${api}/deals`, { method: 'POST', headers, body: demo.curlBody });
    expect(created.status).toBe(201);
    const deal = await created.json();
    expect(deal).toMatchObject({ name: 'Example Dealname', volume: 15000, department_id: demo.departmentId });
    expect(deal.customers).toHaveLength(2);
    expect((await fetch(`${main.origin}${api}/deals/${deal.id}`, { headers })).status).toBe(200);

    // Hold the deals table so that requests are in flight when SIGTERM arrives.
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE deals IN EXCLUSIVE MODE');
    const inFlight = Array.from({ length: 6 }, () =>
      fetch(`${main.origin}${api}/deals`, { method: 'POST', headers, body: demo.curlBody }).then((r) => r.status, (e) => String(e)),
    );
    await new Promise((r) => setTimeout(r, 300));
    main.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await blocker.query('COMMIT');
    await blocker.end();
    expect(await Promise.all(inFlight)).toEqual([201, 201, 201, 201, 201, 201]);
    const started = Date.now();
    expect(await main.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);

    const logLines = main.output().split('\n').filter((l) => l.startsWith('{'));
    const requests = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(8);
    expect(requests[0]).toMatchObject({ method: 'POST', route: `${api}/deals`, status: 201 });
    // Routes are logged as the contract's templates, not with ids.
    expect(requests[1]).toMatchObject({ method: 'GET', route: `${api}/deals/{deal_id}`, status: 200 });
    expect(requests[0].req_id).toBeTypeOf('string');
    expect(requests[0].duration_ms).toBeTypeOf('number');
    expect(logLines.join('\n')).not.toContain(demo.apiKey);

    const again = await startMain({ DATABASE_URL: database.url });
    expect(again.output()).not.toContain('X-Api-Key:');
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('exits with a clear message for invalid configuration', async () => {
    await expect(startMain({ DATABASE_URL: database.url, RATE_LIMIT_PER_SECOND: 'lots' })).rejects.toThrow(
      /RATE_LIMIT_PER_SECOND must be an integer/,
    );
  });
});

describe('npm start without DATABASE_URL', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'deals-embedded-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('runs on an embedded PostgreSQL in DATA_DIR and keeps its data across restarts', async () => {
    const env = { DATABASE_URL: undefined, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) };
    const first = await startMain(env);
    const demo = printedDemo(first.output());
    const headers = { 'X-Api-Key': demo.apiKey, 'X-Department-Id': demo.departmentId, 'Content-Type': 'application/json' };
    const created = await fetch(`${first.origin}${api}/deals`, { method: 'POST', headers, body: demo.curlBody });
    expect(created.status).toBe(201);
    const { id } = await created.json();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await startMain(env);
    expect(second.output()).not.toContain('X-Api-Key:');
    const read = await fetch(`${second.origin}${api}/deals/${id}`, { headers });
    expect(read.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
