import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, readMigrations } from '../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let db: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

describe('migrations', () => {
  it('are recorded in Prisma\'s _prisma_migrations table with Prisma\'s checksum', async () => {
    const onDisk = await readMigrations();
    const { rows } = await pool.query('SELECT migration_name, checksum FROM _prisma_migrations ORDER BY migration_name');
    expect(rows).toEqual(onDisk.map((m) => ({ migration_name: m.name, checksum: m.checksum })));
  });

  it('apply nothing a second time', async () => {
    expect(await migrate(pool)).toEqual([]);
  });
});
