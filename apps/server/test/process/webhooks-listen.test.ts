// `npm run webhooks:listen` as a developer meets it: run from the repository root through npm,
// against a server process, stopped with Ctrl-C (SIGINT to the whole process group, as a
// terminal sends it). What it prints for each delivery, and what it leaves behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DealCreate } from '@deals/api-types';
import { createDealsClient } from '@deals/client';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { basePath, requestExample } from '../../src/contract.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { type MainProcess, printedDemo, startMain } from '../support/process.ts';

const repoRoot = fileURLToPath(new URL('../../../..', import.meta.url));
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';

async function until(what: string, condition: () => boolean | Promise<boolean>, output: () => string, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type Listener = {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  interrupt(): void;
  /** Whether any process of its group (npm, tsx, the script) still runs. */
  running(): boolean;
};

/** `npm run -s webhooks:listen -- …args` from the repository root, in a process group of its own. */
function listen(args: string[], env: Record<string, string | undefined>): Listener {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const name of ['DEALS_API_KEY', 'DEALS_DEPARTMENT_ID', 'DEALS_API_URL']) if (!(name in env)) delete childEnv[name];
  const child = spawn('npm', ['run', '-s', 'webhooks:listen', '--', ...args], {
    cwd: repoRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    // Ctrl-C in a terminal signals the foreground process group: npm, tsx and the script.
    interrupt: () => process.kill(-child.pid!, 'SIGINT'),
    running: () => {
      try {
        process.kill(-child.pid!, 0);
        return true;
      } catch {
        return false;
      }
    },
  };
}

describe('npm run webhooks:listen', () => {
  let database: TestDatabase;
  let server: MainProcess | undefined;
  let listener: Listener | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    if (listener?.running()) process.kill(-listener.child.pid!, 'SIGKILL');
    listener = undefined;
    if (server?.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    server = undefined;
  });
  afterAll(() => database?.drop());

  it('says how to start the API when it refuses a local URL (no WEBHOOK_ALLOW_PRIVATE_NETWORKS)', async () => {
    server = await startMain({ DATABASE_URL: database.url, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' });
    await until('the demo banner', () => server!.output().includes('More keys:'), server.output);
    const demo = printedDemo(server.output());
    listener = listen(['--url', `${server.origin}${basePath}`, '--api-key', demo.apiKey, '--department', demo.departmentId], {});
    expect(await listener.exited).toBe(1);
    expect(listener.stderr()).toContain('The API refused http://127.0.0.1:');
    expect(listener.stderr()).toContain('WEBHOOK_ALLOW_PRIVATE_NETWORKS=true npm start');
  }, 120_000);

  it('without a key creates a demo tenant, prints one verified line per event (and its payload with --json), and deletes its endpoint on Ctrl-C', async () => {
    server = await startMain({ DATABASE_URL: database.url, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    listener = listen(['--url', `${server.origin}${basePath}`, '--json'], { DATABASE_URL: database.url });
    const out = () => `${listener!.stdout()}\n--- stderr:\n${listener!.stderr()}\n--- server:\n${server!.output()}`;
    await until('the listener to register', () => listener!.stdout().includes('Ctrl-C deletes'), out);
    const apiKey = /X-Api-Key:\s+(\S+)/.exec(listener.stdout())?.[1];
    const departmentId = /X-Department-Id:\s+(\S+)/.exec(listener.stdout())?.[1];
    const endpointId = /webhook endpoint (\S+)\)/.exec(listener.stdout())?.[1];
    expect(apiKey && departmentId && endpointId, out()).toBeTruthy();
    expect(listener.stdout()).toMatch(
      new RegExp(`Listening on http://127\\.0\\.0\\.1:\\d+/webhooks for \\* of department ${departmentId}`),
    );

    const client = createDealsClient({ baseUrl: `${server.origin}${basePath}`, apiKey: apiKey!, departmentId: departmentId! });
    const { data: deal, response } = await client.POST('/deals', { body: requestExample('/deals', 'post', 'reference') as DealCreate });
    expect(response.status, out()).toBe(201);

    // The reference request creates two customers and the deal: three events, each on one line.
    const dealLine = new RegExp(`^\\S+Z  deal\\.created {7}(${UUID})  ${deal!.id}  v1$`, 'm');
    const customerLine = new RegExp(`^\\S+Z  customer\\.created {3}${UUID}  (${UUID})  v1$`, 'gm');
    // Deliveries run concurrently (up to 10 per endpoint), so the three may arrive in any order.
    await until(
      'the deal.created line and both customer.created lines',
      () => dealLine.test(listener!.stdout()) && (listener!.stdout().match(customerLine)?.length ?? 0) >= 2,
      out,
    );
    const customerLines = listener.stdout().match(customerLine);
    expect(customerLines?.map((line) => line.split('  ')[3]).sort()).toEqual(deal!.customers.map((c) => c.id).sort());
    // --json: the verified payload, as GET /events serves it.
    const eventId = dealLine.exec(listener.stdout())![1]!;
    const { data: stored } = await client.GET('/events/{event_id}', { params: { path: { event_id: eventId } } });
    expect(stored?.type).toBe('deal.created');
    expect(listener.stdout()).toContain(JSON.stringify(stored, null, 2));
    // A test delivery (POST /webhook-endpoints/{id}/test) prints the endpoint as its resource.
    const tested = await client.POST('/webhook-endpoints/{endpoint_id}/test', { params: { path: { endpoint_id: endpointId! } } });
    expect(tested.response.status, out()).toBe(200);
    expect(tested.data?.attempt.status_code).toBe(200);
    const testLine = new RegExp(`^\\S+Z  webhook\\.test {7}${UUID}  ${endpointId}  -$`, 'm');
    await until('the webhook.test line', () => testLine.test(listener!.stdout()), out);
    expect(listener.stderr()).not.toContain('rejected');

    // Ctrl-C: npm ends at once, as it does on SIGINT; the script deletes the endpoint through
    // the API, then exits.
    listener.interrupt();
    await until('every process of the listener to end', () => !listener!.running(), out);
    expect(listener.stdout()).toContain(`SIGINT: deleting webhook endpoint ${endpointId}`);
    expect(listener.stderr()).not.toContain('could not delete');
    const { data: endpoints } = await client.GET('/webhook-endpoints');
    expect(endpoints?.data).toEqual([]);
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_endpoints WHERE id = $1', [endpointId]);
      expect(rows[0]!.n).toBe(0);
    } finally {
      await db.end();
    }
  }, 120_000);
});
