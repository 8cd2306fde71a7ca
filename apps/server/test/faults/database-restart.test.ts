// PostgreSQL itself stops (fast shutdown: every backend is terminated, then connections are
// refused) and starts again, under light load on the server as `npm start` builds it (start(),
// in this process: an unhandled pool error would fail the run as it would crash the process).
// availability.test.ts cuts the TCP path to a healthy database; here the database really goes
// down and comes back, so the pool sees terminated backends (57P01), refused connects and stale
// idle clients. The file gets a PostgreSQL of its own, since it stops it.
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { referenceRequest } from '../support/fixtures.ts';
import { freePort } from '../support/free-port.ts';
import type { StartedServer } from '../support/running-server.ts';
import { api, type Exchange, isSuccess, seedTenant, send, serveApi, sleep, type Tenant, tally, until } from './support.ts';

const POOL_WAIT_MS = 1000;
/** Beyond the pool wait: a loaded two-core machine, and one connect attempt that is refused. */
const MARGIN_MS = 3000;
/** "Within a few seconds": from PostgreSQL accepting connections to the process serving again. */
const RECOVERY_MS = 5000;

let dataDir: string;
let port: number;
let postgres: EmbeddedDatabase | undefined;
let tenant: Tenant;
let main: StartedServer | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'deals-faults-pg-'));
  port = await freePort();
  postgres = await startEmbeddedPostgres(dataDir, port);
  const pool = new pg.Pool({ connectionString: postgres.url, max: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  tenant = await seedTenant(postgres.url);
});
afterAll(async () => {
  await main?.close();
  await postgres?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

type Phase = 'up' | 'stopping' | 'down' | 'starting' | 'back';
/** A request that started in one phase and ended in another counts as `between`. */
type Observed = Exchange & { phase: Phase | 'between'; method: string };

describe('PostgreSQL stops and starts again under load', () => {
  it('503 with Retry-After while it is down, the server stays up, and serves 2xx again by itself', async () => {
    main = await serveApi(postgres!.url, { DB_POOL_WAIT_MS: String(POOL_WAIT_MS) });
    const { origin } = main;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const observed: Observed[] = [];
    let phase: Phase = 'up';
    let stop = false;
    const hardStop = setTimeout(() => (stop = true), 60_000);

    // Light load: two readers and two writers, a short pause between requests.
    async function loop(method: 'GET' | 'POST') {
      while (!stop) {
        const startedIn = phase;
        const exchange =
          method === 'GET'
            ? await send(origin, 'GET', `${api}/deals?limit=10`, { tenant, agent, timeoutMs: 15_000 })
            : await send(origin, 'POST', `${api}/deals`, { tenant, agent, body: referenceRequest, timeoutMs: 15_000 });
        observed.push({ ...exchange, method, phase: startedIn === phase ? startedIn : 'between' });
        await sleep(20);
      }
    }
    const loops = [loop('GET'), loop('GET'), loop('POST'), loop('POST')];
    const count = (p: Phase, ok?: (e: Observed) => boolean) => observed.filter((e) => e.phase === p && (!ok || ok(e))).length;

    try {
      await until('2xx before the outage', () => count('up', isSuccess) >= 20, 20_000);

      phase = 'stopping';
      await postgres!.stop();
      phase = 'down';
      await until('requests during the outage', () => count('down') >= 20, 20_000);
      const health = await send(origin, 'GET', '/healthz', { timeoutMs: 5000 });
      const readiness = await send(origin, 'GET', '/readyz', { timeoutMs: POOL_WAIT_MS + MARGIN_MS });
      expect(main.server.listening).toBe(true);

      phase = 'starting';
      postgres = await startEmbeddedPostgres(dataDir, port);
      const restartedAt = performance.now();
      phase = 'back';
      await until(
        '2xx for reads and writes after the restart',
        () => ['GET', 'POST'].every((m) => observed.some((e) => e.phase === 'back' && e.method === m && isSuccess(e))),
        RECOVERY_MS + MARGIN_MS,
      );
      const recoveredAfterMs = Math.max(
        ...['GET', 'POST'].map(
          (m) =>
            Math.min(...observed.filter((e) => e.phase === 'back' && e.method === m && isSuccess(e)).map((e) => e.endedAt)) - restartedAt,
        ),
      );
      // Then long enough for every pooled connection to have been tried, past the settling time.
      const settledFrom = restartedAt + RECOVERY_MS / 2;
      await until('40 more requests, a second past settling', () => count('back') >= 40 && performance.now() > settledFrom + 1000, 20_000);
      const readyAgain = await send(origin, 'GET', '/readyz', { timeoutMs: 5000 });
      stop = true;
      await Promise.all(loops);

      const byPhase = Object.fromEntries(
        (['up', 'stopping', 'down', 'starting', 'back', 'between'] as const).map((p) => [p, tally(observed.filter((e) => e.phase === p))]),
      );
      const summary = `${JSON.stringify(byPhase)}; 2xx again ${Math.round(recoveredAfterMs)} ms after PostgreSQL was back`;
      console.info(`database restart: ${summary}`);

      // Never a 500, a hang or a dropped connection, whatever the phase. A 500's cause is in
      // its request's log line, quoted here so a failure explains itself.
      const internalErrors = main.logs
        .lines()
        .filter((line) => line.msg === 'request' && line.status === 500)
        .map((line) => line.err as { type?: string; message?: string; code?: string });
      expect(
        observed
          .filter((e) => e.status === undefined || (e.status >= 300 && e.status !== 503))
          .map((e) => `${e.phase} ${e.method} ${e.error ?? e.status}`),
        `${summary}; logged: ${JSON.stringify(internalErrors.map((e) => `${e.type} ${e.code ?? ''} ${e.message}`))}`,
      ).toEqual([]);
      // While it is down: 503 problem+json with Retry-After, within the pool wait.
      const down = observed.filter((e) => e.phase === 'down');
      expect(
        down.every((e) => e.status === 503),
        summary,
      ).toBe(true);
      expect(
        down.every((e) => e.headers?.['retry-after'] === '1' && e.headers['content-type']?.startsWith('application/problem+json')),
        summary,
      ).toBe(true);
      expect(Math.max(...observed.map((e) => e.endedAt - e.startedAt)), summary).toBeLessThan(POOL_WAIT_MS + MARGIN_MS);
      expect(health.status).toBe(200);
      expect(readiness.status).toBe(503);
      // Back by itself, the same process, within a few seconds; then nothing but 2xx.
      expect(recoveredAfterMs, summary).toBeLessThan(RECOVERY_MS);
      const settled = observed.filter((e) => e.phase === 'back' && e.startedAt > settledFrom);
      expect(settled.length).toBeGreaterThan(0);
      expect(
        settled.filter((e) => !isSuccess(e)).map((e) => `${e.method} ${e.error ?? e.status}`),
        summary,
      ).toEqual([]);
      expect(readyAgain.status).toBe(200);
      expect(main.server.listening).toBe(true); // the same server throughout: never restarted
    } finally {
      stop = true;
      clearTimeout(hardStop);
      await Promise.all(loops);
      agent.destroy();
    }
  }, 120_000);
});
