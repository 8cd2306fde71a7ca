// One pg pool per process, shared by Prisma (through @prisma/adapter-pg) and the raw SQL of
// the data layer (db/sql.ts). Bounded waits everywhere: a request never hangs on the database.
import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.ts';
import { LabellingPool } from './connection-failures.ts';
import { preparedSql, type Sql } from './sql.ts';

export type Database = {
  pool: pg.Pool;
  /** The data layer's raw SQL, as named prepared statements on `pool`. */
  sql: Sql;
  /** Prisma's own client (through @prisma/adapter-pg on `pool`), where the ORM is used. */
  prisma: PrismaClient;
  close(): Promise<void>;
};

export type DatabaseOptions = {
  url: string;
  poolMax: number;
  poolWaitMs: number;
  statementTimeoutMs: number;
  onError?: (error: Error) => void;
};

// node-postgres parses timestamps into Date (losing microseconds) and bigint into string;
// the API's representations are built as JSON by PostgreSQL, so rows rarely carry either.
export function createDatabase(options: DatabaseOptions): Database {
  // LabellingPool: connection failures carry a SQLSTATE even where pg gives none (see the file).
  const pool = new LabellingPool({
    connectionString: options.url,
    max: options.poolMax,
    // pg waits forever for a free connection by default; a bounded wait turns an exhausted
    // pool into a 503 with Retry-After instead of a hung request.
    connectionTimeoutMillis: options.poolWaitMs,
    idleTimeoutMillis: 30_000,
    // Connections are renewed every 10 minutes, which also bounds the prepared statements
    // (db/prepared.ts) each one accumulates.
    maxLifetimeSeconds: 600,
    statement_timeout: options.statementTimeoutMs,
    application_name: 'deals-api',
  });
  // Without a listener, an idle client killed by the server (restart, failover) emits an
  // `error` that crashes the process. The next query simply gets a fresh connection.
  pool.on('error', (error) => options.onError?.(error));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: false }) });
  return {
    pool,
    sql: preparedSql(pool),
    prisma,
    async close() {
      await prisma.$disconnect().catch(() => undefined);
      await pool.end();
    },
  };
}
