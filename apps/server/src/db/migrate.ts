// Applies the SQL migrations in prisma/migrations, in name order, each in its own
// transaction. Prisma Migrate cannot run on our machines (its schema engine cannot be
// downloaded), so the project applies them itself; it records them in Prisma's own
// `_prisma_migrations` table with Prisma's checksum, so `prisma migrate deploy` run elsewhere
// sees the same history. An advisory lock lets several processes start at once safely.
//
// A migration whose first line is `-- deals: no transaction` runs outside a transaction, for
// statements PostgreSQL refuses inside one (CREATE INDEX CONCURRENTLY). It must hold ONE
// statement: PostgreSQL runs a multi-statement script as one implicit transaction anyway. If
// it fails part-way, its `_prisma_migrations` row stays unfinished and every later run stops
// at it until someone has repaired the database and marked it rolled back (as `prisma migrate
// resolve --rolled-back` does), exactly as Prisma treats a failed migration.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { ADVISORY_LOCKS } from './advisory-locks.ts';

const MIGRATION_LOCK = ADVISORY_LOCKS.migrations;

/** The first-line marker of a migration that must run outside a transaction. */
export const NO_TRANSACTION_MARKER = '-- deals: no transaction';

// From src/db/ and from the compiled dist/db/ alike (dist mirrors src): apps/server/prisma.
export const migrationsDir = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

export type Migration = { name: string; sql: string; checksum: string; transactional: boolean };

export async function readMigrations(dir = migrationsDir): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
      const firstLine = sql.split('\n', 1)[0]!.trim();
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex'), transactional: firstLine !== NO_TRANSACTION_MARKER };
    }),
  );
}

/**
 * Waits for the migration lock without holding a snapshot while waiting. A session blocked in
 * pg_advisory_lock() keeps the snapshot of its SELECT, and CREATE INDEX CONCURRENTLY waits for
 * every older snapshot to go away: a second process starting during such a migration would
 * deadlock with it, and PostgreSQL would cancel one of the two.
 */
async function lockMigrations(client: pg.PoolClient): Promise<void> {
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK]);
    if (rows[0]!.locked) return;
    await sleep(100);
  }
}

/** Applies pending migrations; returns the names it applied. */
export async function migrate(pool: pg.Pool, dir = migrationsDir): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const client = await pool.connect();
  try {
    await lockMigrations(client);
    // The server's pool cuts statements at DB_STATEMENT_TIMEOUT_MS; a migration (an index
    // built over a large table) may take far longer. RESET (below) restores the pool's value.
    await client.query('SET statement_timeout = 0');
    await client.query(`CREATE TABLE IF NOT EXISTS _prisma_migrations (
      id                  varchar(36) PRIMARY KEY NOT NULL,
      checksum            varchar(64) NOT NULL,
      finished_at         timestamptz,
      migration_name      varchar(255) NOT NULL,
      logs                text,
      rolled_back_at      timestamptz,
      started_at          timestamptz NOT NULL DEFAULT now(),
      applied_steps_count integer NOT NULL DEFAULT 0
    )`);
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished: boolean }>(
      'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished FROM _prisma_migrations WHERE rolled_back_at IS NULL',
    );
    const recorded = new Map(rows.map((r) => [r.migration_name, r]));
    const done: string[] = [];
    for (const m of migrations) {
      const record = recorded.get(m.name);
      if (record && !record.finished) {
        throw new Error(
          `migration ${m.name} failed part-way earlier (see the logs column of its _prisma_migrations row). Repair what it left ` +
            `(an INVALID index: DROP INDEX CONCURRENTLY), mark it rolled back (\`prisma migrate resolve --rolled-back ${m.name}\`, or ` +
            `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '${m.name}' AND finished_at IS NULL), then migrate again`,
        );
      }
      if (record) {
        if (record.checksum !== m.checksum) {
          throw new Error(`migration ${m.name} was edited after it was applied; add a new migration instead`);
        }
        continue;
      }
      if (m.transactional) await applyInTransaction(client, m);
      else await applyOutsideTransaction(client, m);
      done.push(m.name);
    }
    return done;
  } finally {
    await client.query('RESET statement_timeout').catch(() => undefined);
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}

async function applyInTransaction(client: pg.PoolClient, m: Migration): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(m.sql);
    await client.query(
      `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
       VALUES (gen_random_uuid()::text, $1, now(), $2, 1)`,
      [m.checksum, m.name],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new Error(`migration ${m.name} failed: ${(error as Error).message}`, { cause: error });
  }
}

// Recorded as started first, so that a failure (or a crash) part-way leaves a visible,
// unfinished record instead of a half-applied migration that looks pending.
async function applyOutsideTransaction(client: pg.PoolClient, m: Migration): Promise<void> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES (gen_random_uuid()::text, $1, $2) RETURNING id`,
    [m.checksum, m.name],
  );
  const id = rows[0]!.id;
  try {
    await client.query(m.sql);
  } catch (error) {
    const message = (error as Error).message;
    await client.query('UPDATE _prisma_migrations SET logs = $2 WHERE id = $1', [id, message]).catch(() => undefined);
    throw new Error(`migration ${m.name} failed outside a transaction and may be partly applied: ${message}`, { cause: error });
  }
  await client.query('UPDATE _prisma_migrations SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [id]);
}

/**
 * The migrations on disk that the database has not applied, by name (used by /readyz). Names,
 * not counts: a database that has applied a newer release's migration but lacks one of ours
 * is not ready for this code. A database without the history table has applied none.
 */
export async function pendingMigrations(pool: pg.Pool, onDisk: readonly Migration[]): Promise<string[]> {
  const { rows } = await pool
    .query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    )
    .catch((error: { code?: string }) => {
      if (error.code === '42P01') return { rows: [] }; // undefined_table: nothing applied yet
      throw error;
    });
  const applied = new Set(rows.map((r) => r.migration_name));
  return onDisk.map((m) => m.name).filter((name) => !applied.has(name));
}
