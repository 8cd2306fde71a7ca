// The data layer's one way to reach PostgreSQL: a statement written as a tagged template
// (Prisma.sql: values become bind parameters, never SQL text), run on the pool as a NAMED
// prepared statement. Measured: PostgreSQL planned the multi-CTE statements anew on every
// request, 1.2-2 ms of planning against ~1 ms of execution for createDeal, and Prisma's
// $queryRaw cannot name a statement. Named by a hash of the text, each connection parses a
// statement once and PostgreSQL switches to a cached generic plan after five executions
// (test/performance checks those generic plans).
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { Prisma } from '../generated/prisma/client.ts';

export type Sql = {
  /** Runs one statement; resolves with its rows. */
  rows<Row>(strings: TemplateStringsArray, ...values: unknown[]): Promise<Row[]>;
  /** Runs one statement; resolves with the number of rows it changed. */
  count(strings: TemplateStringsArray, ...values: unknown[]): Promise<number>;
};

const names = new Map<string, string>();

export function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `deals_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    // The set of statement shapes is finite (filters × sorts); the cap only guards mistakes.
    if (names.size < 10_000) names.set(text, name);
  }
  return name;
}

/** Runs every statement as a named prepared statement on `pool`. */
export function preparedSql(pool: pg.Pool): Sql {
  const run = (strings: TemplateStringsArray, values: unknown[]) => {
    const statement = Prisma.sql(strings, ...values);
    return pool.query({ name: statementName(statement.text), text: statement.text, values: statement.values as unknown[] });
  };
  return {
    rows: async <Row>(strings: TemplateStringsArray, ...values: unknown[]) => (await run(strings, values)).rows as Row[],
    count: async (strings: TemplateStringsArray, ...values: unknown[]) => (await run(strings, values)).rowCount ?? 0,
  };
}
