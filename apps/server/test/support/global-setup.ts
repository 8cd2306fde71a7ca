// One PostgreSQL for the whole test run (DATABASE_URL's server, or a throwaway embedded one),
// with a migrated template database. Each test file clones the template into a database of
// its own (test/support/database.ts), so files run in parallel and leave nothing behind.
// Both database projects of vitest.config.ts (api, slow) name this file, and vitest runs their
// global setups in its one main process: when both run, the first starts the database and the
// last to finish stops it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { freePort } from './free-port.ts';

const TEMPLATE = `deals_template_${process.pid}`;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

type Started = { adminUrl: string; stop(): Promise<void> };
type Shared = { started: Promise<Started>; users: number };
const registry = globalThis as typeof globalThis & { dealsTestDatabase?: Shared };

export default async function setup(project: TestProject) {
  const shared = (registry.dealsTestDatabase ??= { started: startDatabase(), users: 0 });
  shared.users++;
  const { adminUrl } = await shared.started;
  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', TEMPLATE);
  return async () => {
    if (--shared.users > 0) return;
    registry.dealsTestDatabase = undefined;
    await (await shared.started).stop();
  };
}

async function startDatabase(): Promise<Started> {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let dataDir: string | undefined;
  if (!adminUrl) {
    dataDir = await mkdtemp(join(tmpdir(), 'deals-test-pg-'));
    const embedded = await startEmbeddedPostgres(dataDir, await freePort());
    adminUrl = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE}`);
  await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  const templatePool = new pg.Pool({ connectionString: withDatabase(adminUrl, TEMPLATE), max: 1 });
  await migrate(templatePool);
  await templatePool.end();
  await admin.end();

  return {
    adminUrl,
    async stop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`).catch(() => undefined);
      await client.end();
      await stopEmbedded?.();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}
