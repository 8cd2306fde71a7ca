// `npm run worker`: the delivery worker as a process of its own, beside an API process that
// runs none (WEBHOOK_WORKER=false). The API queues nothing itself; the worker dispatches and
// delivers; SIGTERM drains it and it exits 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import type { MainProcess } from '../support/process.ts';
import { type Receiver, startReceiver, verifies } from '../webhook-delivery/support.ts';
import { api, seedTenant, send, startApi, stopApi, type Tenant, until } from './support.ts';

const serverDir = fileURLToPath(new URL('../..', import.meta.url));
const env = { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_ENCRYPTION_KEY: randomBytes(32).toString('base64') };

let database: TestDatabase;
let tenant: Tenant;
let apiProcess: MainProcess;
let receiver: Receiver;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  tenant = await seedTenant(database.url);
  apiProcess = await startApi(database.url, { ...env, WEBHOOK_WORKER: 'false' });
  receiver = await startReceiver();
});
afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  await stopApi(apiProcess);
  await receiver?.close();
  await database?.drop();
});

describe('npm run worker', () => {
  it('is the script the package runs', () => {
    const { scripts } = JSON.parse(readFileSync(`${serverDir}/package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.worker).toBe('node dist/worker-main.js');
  });

  it('delivers what an API process without a worker wrote, and drains on SIGTERM', async () => {
    const created = await send(apiProcess.origin, 'POST', `${api}/webhook-endpoints`, {
      tenant,
      body: { url: receiver.url, enabled_events: ['*'] },
    });
    expect(created.status, created.text).toBe(201);
    const { secret } = JSON.parse(created.text!) as { secret: string };
    for (let i = 0; i < 5; i++) {
      const r = await send(apiProcess.origin, 'POST', `${api}/customers`, { tenant, body: { last_name: `Worker-${i}` } });
      expect(r.status).toBe(201);
    }
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      // Without a worker nothing dispatches: the events wait in the feed.
      expect((await sql.query('SELECT count(*)::int AS n FROM webhook_deliveries')).rows[0].n).toBe(0);

      // The source entry point of the script's dist/worker-main.js (as process tests run main.ts).
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], {
        cwd: serverDir,
        env: { ...process.env, ...env, DATABASE_URL: database.url, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      worker = child;
      let output = '';
      child.stdout!.on('data', (c) => (output += c));
      child.stderr!.on('data', (c) => (output += c));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await until('the worker running', () => output.includes('webhook worker running'), 60_000);
      await until('five deliveries', () => receiver.received.length === 5, 30_000);
      expect(receiver.received.every((r) => verifies(secret, r))).toBe(true);
      await until(
        'the deliveries recorded',
        async () => (await sql.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'succeeded'`)).rows[0].n === 5,
        10_000,
      );

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('webhook worker stopped');
    } finally {
      await sql.end();
    }
  }, 120_000);
});
