// The plans PostgreSQL really runs the data layer's statements with. db/sql.ts sends every
// statement as a named prepared statement, and after five executions PostgreSQL keeps a
// GENERIC plan for it: one plan for every parameter value, chosen without seeing the values.
// A custom plan (EXPLAIN of the statement with its values bound) can use an index that the
// generic plan does not, so this executor asks for the generic one: each statement is
// PREPAREd (parameter types inferred from the text, as they are when node-postgres parses a
// named statement without types) and `EXPLAIN EXECUTE`d under plan_cache_mode =
// force_generic_plan. EXPLAIN without ANALYZE runs nothing, so a write writes nothing; the
// session still runs inside a transaction that is rolled back at the end.
import pg from 'pg';
import type { Sql } from '../../src/db/sql.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';

export type PlanNode = {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Function Name'?: string;
  Plans?: PlanNode[];
};
export type Explained = { sql: string; parameterTypes: string[]; plan: PlanNode };

/** A literal of `value` as node-postgres would send it, in SQL text. */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Buffer.isBuffer(value)) return `'\\x${value.toString('hex')}'`;
  if (Array.isArray(value)) {
    const items = value.map((v) => (v === null || v === undefined ? 'NULL' : `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`));
    return pg.Client.prototype.escapeLiteral(`{${items.join(',')}}`);
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return pg.Client.prototype.escapeLiteral(String(value));
  }
  throw new Error(`no SQL literal for ${typeof value} ${String(value)}`);
}

/** A session that explains generic plans: its own connection, in a transaction. */
export type GenericPlanSession = {
  /** An Sql whose statements are explained (and recorded in `into`), never run; returns no rows. */
  sql(into: Explained[]): Sql;
  /** Runs SQL on the session itself (to change the schema inside its transaction, say). */
  query(text: string): Promise<pg.QueryResult>;
  /** Rolls back everything the session did and closes its connection. */
  close(): Promise<void>;
};

export async function genericPlanSession(url: string): Promise<GenericPlanSession> {
  // A connection of its own: no statement of the pool's is prepared on it, and nothing done
  // here (PREPARE, DEALLOCATE ALL, a dropped index) is seen by another connection.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
  let count = 0;
  const explain = async (strings: TemplateStringsArray, values: unknown[], into: Explained[]) => {
    const statement = Prisma.sql(strings, ...values);
    const name = `plan_${++count}`;
    await client.query('SAVEPOINT explaining');
    try {
      await client.query(`PREPARE ${name} AS ${statement.text}`);
      const { rows } = await client.query<{ types: string[] }>(
        'SELECT parameter_types::text[] AS types FROM pg_prepared_statements WHERE name = $1',
        [name],
      );
      const types = rows[0]!.types;
      const args = statement.values.map((v, i) => `${sqlLiteral(v)}::${types[i]}`);
      const explained = await client.query(`EXPLAIN (FORMAT JSON) EXECUTE ${name}${args.length ? `(${args.join(', ')})` : ''}`);
      const plan = (explained.rows as { 'QUERY PLAN': [{ Plan: PlanNode }] }[])[0]!['QUERY PLAN'][0].Plan;
      into.push({ sql: statement.text, parameterTypes: types, plan });
      await client.query(`DEALLOCATE ${name}`);
      await client.query('RELEASE SAVEPOINT explaining');
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT explaining');
      await client.query('DEALLOCATE ALL');
      throw new Error(`could not explain the generic plan of:\n${statement.text}\n${(error as Error).message}`, { cause: error });
    }
  };
  return {
    sql: (into) => ({
      rows: async <Row>(strings: TemplateStringsArray, ...values: unknown[]) => {
        await explain(strings, values, into);
        return [] as Row[];
      },
      count: async (strings: TemplateStringsArray, ...values: unknown[]) => {
        await explain(strings, values, into);
        return 0;
      },
    }),
    query: (text) => client.query(text),
    async close() {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    },
  };
}

/** Every node of the plan, depth first. */
export function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

/** Every Seq Scan of a table in `watched`, as `Seq Scan on deals`. */
export function seqScans(node: PlanNode, watched: ReadonlySet<string>): string[] {
  return planNodes(node)
    .filter((n) => n['Node Type'] === 'Seq Scan' && watched.has(n['Relation Name'] ?? ''))
    .map((n) => `Seq Scan on ${n['Relation Name']}`);
}

/**
 * Index scans whose keyset row comparison starts with a column that the same condition also
 * fixes by equality, e.g. `ROW(tenant_id, department_id, created_at, id) < ROW(…) AND
 * tenant_id = … AND department_id = …`. PostgreSQL then starts the scan at the edge of the
 * department's range, not at the cursor, and reads every index entry in between.
 */
export function keysetScansFromEdge(node: PlanNode): string[] {
  return planNodes(node).flatMap((n) => {
    const cond = n['Index Cond'] ?? '';
    return [...cond.matchAll(/ROW\((\w+),/g)]
      .filter((m) => cond.includes(`(${m[1]} = `))
      .map(() => `${n['Node Type']} using ${n['Index Name']}: ${cond}`);
  });
}

/** The indexes the plan reads. */
export function indexesUsed(node: PlanNode): string[] {
  return planNodes(node).flatMap((n) => (n['Index Name'] ? [n['Index Name']] : []));
}

/** The set-returning functions the plan calls. */
export function functionsCalled(node: PlanNode): string[] {
  return planNodes(node).flatMap((n) => (n['Function Name'] ? [n['Function Name']] : []));
}

export function planText(node: PlanNode, depth = 0): string {
  const what = [
    node['Node Type'],
    node['Relation Name'] && `on ${node['Relation Name']}`,
    node['Function Name'] && `of ${node['Function Name']}`,
    node['Index Name'] && `using ${node['Index Name']}`,
  ];
  return [`${'  '.repeat(depth)}${what.filter(Boolean).join(' ')}`, ...(node.Plans ?? []).map((p) => planText(p, depth + 1))].join('\n');
}
