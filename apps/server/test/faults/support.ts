// What the fault tests share: a tenant seeded straight into a database, the server started on
// it (as a process, or in this process), and an HTTP client that reports transport failures
// (reset, refused, hang up) as data instead of throwing, so a load loop can count them and
// carry on.

import http from 'node:http';
import net from 'node:net';
import { seedDemoTenant } from '../../src/admin/tenancy.ts';
import { basePath } from '../../src/contract.ts';
import { createDatabase } from '../../src/db/database.ts';
import { type MainProcess, startMain } from '../support/process.ts';
import { type StartedServer, startServer } from '../support/running-server.ts';

export const api = basePath;

export type Tenant = { tenantId: string; apiKey: string; departmentId: string };

/** One demo tenant (departments, steps, employees, a key), written with the app's own code. */
export async function seedTenant(databaseUrl: string): Promise<Tenant> {
  const db = createDatabase({ url: databaseUrl, poolMax: 2, poolWaitMs: 10_000, statementTimeoutMs: 30_000 });
  try {
    const tenant = await seedDemoTenant(db.prisma);
    return { tenantId: tenant.tenant_id, apiKey: tenant.api_key, departmentId: tenant.departments[0]!.id };
  } finally {
    await db.close();
  }
}

/**
 * `npm start` on an existing database: no demo seeding, and no rate limit, because the load
 * loops of these tests would otherwise measure the limiter instead of the fault.
 */
export function startApi(databaseUrl: string, env: Record<string, string> = {}): Promise<MainProcess> {
  return startMain({ DATABASE_URL: databaseUrl, SEED_DEMO_ON_EMPTY: 'false', RATE_LIMIT_PER_SECOND: '0', ...env });
}

/** The same server (start(), as `npm start` runs it) in this test process, for tests that are not about the process. */
export function serveApi(databaseUrl: string, env: Record<string, string> = {}): Promise<StartedServer> {
  return startServer({ DATABASE_URL: databaseUrl, SEED_DEMO_ON_EMPTY: 'false', RATE_LIMIT_PER_SECOND: '0', ...env });
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`; for afterAll. */
export async function stopApi(main: MainProcess | undefined, graceMs = 15_000): Promise<void> {
  if (!main || main.child.exitCode !== null || main.child.signalCode !== null) return;
  main.child.kill('SIGTERM');
  const timer = setTimeout(() => main.child.kill('SIGKILL'), graceMs);
  await main.exited;
  clearTimeout(timer);
}

export type Exchange = {
  startedAt: number;
  endedAt: number;
  /** Set when a response arrived (its body was read completely). */
  status?: number;
  headers?: http.IncomingHttpHeaders;
  text?: string;
  /** Set when no complete response arrived: `ECONNREFUSED`, `ECONNRESET`, `socket hang up`, `client timeout`. */
  error?: string;
  /** The request went out on a kept-alive connection that an earlier response had used. */
  reusedConnection?: boolean;
};

export type SendOptions = {
  tenant?: Tenant;
  headers?: Record<string, string>;
  body?: unknown;
  agent?: http.Agent;
  /** The client gives up after this long: a hung request is a finding, not a hung test. */
  timeoutMs?: number;
};

/** The failure as a client library would name it: a reset before any response is `socket hang up`. */
function failureName(error: NodeJS.ErrnoException): string {
  if (error.message === 'socket hang up') return 'socket hang up';
  return error.code ?? error.message;
}

export function send(origin: string, method: string, path: string, options: SendOptions = {}): Promise<Exchange> {
  const startedAt = performance.now();
  const headers: Record<string, string> = { ...options.headers };
  if (options.tenant) {
    headers['X-Api-Key'] = options.tenant.apiKey;
    headers['X-Department-Id'] = options.tenant.departmentId;
  }
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  const url = new URL(path, origin);
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: Omit<Exchange, 'startedAt' | 'endedAt'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ startedAt, endedAt: performance.now(), reusedConnection: req.reusedSocket, ...result });
    };
    const req = http.request(url, { method, headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e: NodeJS.ErrnoException) => done({ error: failureName(e) }));
      res.on('aborted', () => done({ error: 'response aborted' }));
    });
    const timer = setTimeout(() => {
      done({ error: 'client timeout' });
      req.destroy();
    }, options.timeoutMs ?? 20_000);
    req.on('error', (e: NodeJS.ErrnoException) => done({ error: failureName(e) }));
    req.end(payload);
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `condition` every `everyMs` until it holds; throws after `timeoutMs`. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Counts of outcomes, `201`, `503`, `ECONNREFUSED` ..., for assertions and messages. */
export function tally(exchanges: readonly Exchange[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of exchanges) {
    const k = e.status !== undefined ? String(e.status) : e.error!;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

export const isSuccess = (e: Exchange) => e.status !== undefined && e.status >= 200 && e.status < 300;

export type ResettingProxy = { port: number; resetAll(): void; close(): Promise<void> };

/**
 * A TCP proxy to PostgreSQL whose connections can be reset (RST, as a NAT or load balancer
 * that drops state does), unlike test/support/tcp-proxy.ts, which closes them (FIN).
 */
export async function startResettingProxy(targetHost: string, targetPort: number): Promise<ResettingProxy> {
  const clients = new Set<net.Socket>();
  const server = net.createServer((downstream) => {
    const upstream = net.connect(targetPort, targetHost);
    clients.add(downstream);
    for (const s of [downstream, upstream]) s.on('error', () => s.destroy());
    downstream.on('close', () => {
      clients.delete(downstream);
      upstream.destroy();
    });
    upstream.on('close', () => downstream.destroy());
    downstream.pipe(upstream).pipe(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    resetAll: () => {
      for (const s of clients) s.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of clients) s.destroy();
        server.close(() => resolve());
      }),
  };
}
