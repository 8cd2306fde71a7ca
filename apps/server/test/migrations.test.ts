// Migrations as a release step: the history in Prisma's table, migrations that must run
// outside a transaction, readiness by migration name, `npm run migrate`, MIGRATE_ON_START=false.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migrationsDir, NO_TRANSACTION_MARKER, pendingMigrations, readMigrations } from '../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { startServer } from './support/running-server.ts';

const serverDir = fileURLToPath(new URL('..', import.meta.url));

/** A database with nothing in it, not even the migrated template's tables. */

/** The project's migrations plus `extra` ones, in a directory of their own. */
async function migrationsWith(extra: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'deals-migrations-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await cp(migrationsDir, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

function runMigrateCli(databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/migrate-cli.ts'],
      { cwd: serverDir, env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

const cleanups: (() => Promise<unknown>)[] = [];
let db: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await pool?.end();
  await db?.drop();
});

/** A fresh empty database and a pool on it (statement_timeout as the server sets it). */
async function emptyDatabase(): Promise<{ url: string; pool: pg.Pool }> {
  const database = await createTestDatabase({ empty: true });
  const p = new pg.Pool({ connectionString: database.url, max: 1, statement_timeout: 5000 });
  cleanups.push(
    () => database.drop(),
    () => p.end(),
  );
  return { url: database.url, pool: p };
}

const CONCURRENT_INDEX = 'CREATE INDEX CONCURRENTLY deals_note_idx ON deals (note);\n';

describe('migrations', () => {
  it("are recorded in Prisma's _prisma_migrations table with Prisma's checksum", async () => {
    const onDisk = await readMigrations();
    const { rows } = await pool.query('SELECT migration_name, checksum FROM _prisma_migrations ORDER BY migration_name');
    expect(rows).toEqual(onDisk.map((m) => ({ migration_name: m.name, checksum: m.checksum })));
  });

  it('apply nothing a second time', async () => {
    expect(await migrate(pool)).toEqual([]);
  });

  it('leave the connection with the statement_timeout it had', async () => {
    const { pool: fresh } = await emptyDatabase();
    await migrate(fresh);
    expect((await fresh.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('5s');
  });
});

describe(`a migration marked "${NO_TRANSACTION_MARKER}"`, () => {
  it('runs outside a transaction, so CREATE INDEX CONCURRENTLY works; unmarked, it fails and records nothing', async () => {
    const unmarked = await migrationsWith({ '29990101000000_note_index': CONCURRENT_INDEX });
    const a = await emptyDatabase();
    await expect(migrate(a.pool, unmarked)).rejects.toThrow(
      /29990101000000_note_index failed: CREATE INDEX CONCURRENTLY cannot run inside a transaction block/,
    );
    expect((await a.pool.query(`SELECT 1 FROM _prisma_migrations WHERE migration_name = '29990101000000_note_index'`)).rowCount).toBe(0);

    const marked = await migrationsWith({ '29990101000000_note_index': `${NO_TRANSACTION_MARKER}\n${CONCURRENT_INDEX}` });
    const b = await emptyDatabase();
    expect(await migrate(b.pool, marked)).toContain('29990101000000_note_index');
    const index = await b.pool.query(`SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = 'deals_note_idx'::regclass`);
    expect(index.rows).toEqual([{ indisvalid: true }]);
    const record = await b.pool.query(
      `SELECT finished_at IS NOT NULL AS finished, applied_steps_count FROM _prisma_migrations WHERE migration_name = '29990101000000_note_index'`,
    );
    expect(record.rows).toEqual([{ finished: true, applied_steps_count: 1 }]);
    expect(await migrate(b.pool, marked)).toEqual([]);
  });

  it('that fails part-way stops every later run until it is repaired and marked rolled back', async () => {
    const name = '29990101000000_unique_deal_names';
    const dir = await migrationsWith({
      [name]: `${NO_TRANSACTION_MARKER}\nCREATE UNIQUE INDEX CONCURRENTLY deals_name_key ON deals (name);\n`,
    });
    const { pool: p } = await emptyDatabase();
    await migrate(p); // the project's own, then two deals with one name
    const [{ id: tenant }] = (await p.query(`INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 't') RETURNING id`)).rows;
    const [{ id: department }] = (
      await p.query(`INSERT INTO departments (tenant_id, id, name) VALUES ($1, gen_random_uuid(), 'd') RETURNING id`, [tenant])
    ).rows;
    const [{ id: step }] = (
      await p.query(
        `INSERT INTO steps (tenant_id, id, department_id, name, position) VALUES ($1, gen_random_uuid(), $2, 's', 1) RETURNING id`,
        [tenant, department],
      )
    ).rows;
    const insertDeal = `INSERT INTO deals (tenant_id, id, department_id, step_id, name) VALUES ($1, gen_random_uuid(), $2, $3, 'Same name')`;
    await p.query(insertDeal, [tenant, department, step]);
    await p.query(insertDeal, [tenant, department, step]);

    await expect(migrate(p, dir)).rejects.toThrow(`migration ${name} failed outside a transaction and may be partly applied`);
    // PostgreSQL leaves the index behind, INVALID; the history says the migration started.
    expect((await p.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'deals_name_key'::regclass`)).rows).toEqual([
      { indisvalid: false },
    ]);
    const record = await p.query(`SELECT finished_at, logs FROM _prisma_migrations WHERE migration_name = $1`, [name]);
    expect(record.rows).toEqual([{ finished_at: null, logs: expect.stringMatching(/could not create unique index/) }]);
    expect(await pendingMigrations(p, await readMigrations(dir))).toEqual([name]);

    await expect(migrate(p, dir)).rejects.toThrow(`migration ${name} failed part-way earlier`);

    // The repair the message asks for: drop what it left, fix the data, mark it rolled back.
    await p.query('DROP INDEX CONCURRENTLY deals_name_key');
    await p.query(`UPDATE deals SET name = name || ' ' || id WHERE tenant_id = $1`, [tenant]);
    await p.query(`UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1 AND finished_at IS NULL`, [name]);
    expect(await migrate(p, dir)).toEqual([name]);
    expect((await p.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'deals_name_key'::regclass`)).rows).toEqual([
      { indisvalid: true },
    ]);
  });

  it('does not deadlock with a second process waiting to migrate', async () => {
    const dir = await migrationsWith({ '29990101000000_note_index': `${NO_TRANSACTION_MARKER}\n${CONCURRENT_INDEX}` });
    const { url } = await emptyDatabase();
    const pools = [new pg.Pool({ connectionString: url, max: 1 }), new pg.Pool({ connectionString: url, max: 1 })];
    cleanups.push(...pools.map((p) => () => p.end()));
    const applied = await Promise.all(pools.map((p) => migrate(p, dir)));
    const all = (await readMigrations(dir)).map((m) => m.name);
    expect(applied.sort((x, y) => x.length - y.length)).toEqual([[], all]);
  });
});

describe('readiness', () => {
  it('compares the names of applied migrations with those on disk, not their number', async () => {
    const onDisk = await readMigrations();
    const { pool: p } = await emptyDatabase();
    expect(await pendingMigrations(p, onDisk)).toEqual(onDisk.map((m) => m.name)); // no history table yet
    await migrate(p);
    expect(await pendingMigrations(p, onDisk)).toEqual([]);
    // As many finished migrations as on disk, but one is another release's, one of ours is missing.
    const ours = onDisk.at(-1)!.name;
    await p.query(`UPDATE _prisma_migrations SET migration_name = '29990101000000_from_a_newer_release' WHERE migration_name = $1`, [ours]);
    expect(await pendingMigrations(p, onDisk)).toEqual([ours]);
  });
});

describe('npm run migrate and MIGRATE_ON_START=false', () => {
  it('the server does not migrate and is not ready until `npm run migrate` has applied every migration', async () => {
    const { url, pool: p } = await emptyDatabase();
    const server = await startServer({ DATABASE_URL: url, MIGRATE_ON_START: 'false' });
    cleanups.push(() => server.close());
    expect((await fetch(`${server.origin}/readyz`)).status).toBe(503);
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    const tables = await p.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
    expect(tables.rows).toEqual([]);
    // Not seeded either: the tables a demo tenant needs do not exist yet.
    expect(server.printed()).toBe('');
    expect(server.logs.lines().find((l) => l.msg.includes('MIGRATE_ON_START=false'))?.pending).toEqual(
      (await readMigrations()).map((m) => m.name),
    );

    const release = await runMigrateCli(url);
    expect(release.code, release.stderr).toBe(0);
    expect(release.stdout).toBe((await readMigrations()).map((m) => `applied ${m.name}\n`).join(''));
    expect((await fetch(`${server.origin}/readyz`)).status).toBe(200);

    const again = await runMigrateCli(url);
    expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 0, stdout: 'no pending migrations\n' });
  }, 120_000);

  it('`npm run migrate` exits 1 with the reason when a migration cannot be applied', async () => {
    const refused = await runMigrateCli('postgresql://postgres:nobody@127.0.0.1:1/nowhere');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^migrate: .*ECONNREFUSED/m);
  });
});
