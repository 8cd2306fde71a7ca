// Every list variant is served by an index: no sequential scan of deals, customers,
// deal_customers, deal_tombstones or deal_step_changes. A query that stops using its index
// still passes every functional test on a small database and only hurts at a million rows;
// this file catches it without a million rows.
//
// The SQL checked is the SQL the server runs: the data layer's functions are called with a
// Prisma client whose $queryRaw EXPLAINs the Prisma.Sql it is given (through Prisma, so the
// parameters are bound exactly as in production) instead of running it. The data is loaded
// set-based (bench/support/bulk-load.ts, the loader of `npm run bench:scale`) over several
// tenants and departments, then ANALYZEd, so the planner's choices are the ones it makes on a
// real table. The SQL functions the queries call (api_deal_customers_json, …) are planned on
// their own at run time and are invisible in the caller's EXPLAIN, so their bodies are
// EXPLAINed separately, with the generic plan PostgreSQL caches for them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCustomer, listCustomers, type CustomerListQuery } from '../../src/data/customers.ts';
import { findDeal, listDealStepChanges, listDeals, type DealListQuery } from '../../src/data/deals-read.ts';
import type { Scope } from '../../src/auth/scope.ts';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { seedDemoTenant, type DemoTenant } from '../../src/admin/tenancy.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import type { Sql } from '../../src/db/sql.ts';
import { createSharedCustomer, loadDeals, loadTombstones, SEARCH_WORD, type DepartmentSpace } from '../../bench/support/bulk-load.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const WATCHED = new Set(['deals', 'customers', 'deal_customers', 'deal_tombstones', 'deal_step_changes']);

type PlanNode = { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; 'Index Cond'?: string; Plans?: PlanNode[] };
type Explained = { sql: string; plan: PlanNode };

/** Every Seq Scan of a watched table in the plan, as `Seq Scan on deals`. */
function seqScans(node: PlanNode): string[] {
  const own = node['Node Type'] === 'Seq Scan' && WATCHED.has(node['Relation Name'] ?? '') ? [`Seq Scan on ${node['Relation Name']}`] : [];
  return [...own, ...(node.Plans ?? []).flatMap(seqScans)];
}

/**
 * Index scans whose keyset row comparison starts with a column that the same condition also
 * fixes by equality, e.g. `ROW(tenant_id, department_id, created_at, id) < ROW(…) AND
 * tenant_id = … AND department_id = …`. PostgreSQL then starts the scan at the edge of the
 * department's range, not at the cursor, and reads every index entry in between.
 */
function keysetScansFromEdge(node: PlanNode): string[] {
  const cond = node['Index Cond'] ?? '';
  const own = [...cond.matchAll(/ROW\((\w+),/g)]
    .filter((m) => cond.includes(`(${m[1]} = `))
    .map(() => `${node['Node Type']} using ${node['Index Name']}: ${cond}`);
  return [...own, ...(node.Plans ?? []).flatMap(keysetScansFromEdge)];
}

type Query = (text: string, values: unknown[]) => Promise<{ rows: unknown[] }>;

/** An Sql whose statements are EXPLAINed (recorded in `into`) instead of run; returns no rows. */
function explaining(query: Query, into: Explained[]): Sql {
  const explain = async (strings: TemplateStringsArray, values: unknown[]) => {
    const sql = Prisma.sql(strings, ...values);
    const { rows } = await query(`EXPLAIN (FORMAT JSON) ${sql.text}`, sql.values as unknown[]);
    into.push({ sql: sql.text, plan: (rows as { 'QUERY PLAN': [{ Plan: PlanNode }] }[])[0]!['QUERY PLAN'][0].Plan });
  };
  return {
    rows: async <Row>(strings: TemplateStringsArray, ...values: unknown[]) => (await explain(strings, values), [] as Row[]),
    count: async (strings: TemplateStringsArray, ...values: unknown[]) => (await explain(strings, values), 0),
  };
}

function planText(node: PlanNode, depth = 0): string {
  const what = [node['Node Type'], node['Relation Name'] && `on ${node['Relation Name']}`, node['Index Name'] && `using ${node['Index Name']}`];
  return [`${'  '.repeat(depth)}${what.filter(Boolean).join(' ')}`, ...(node.Plans ?? []).map((p) => planText(p, depth + 1))].join('\n');
}

let database: TestDatabase;
let db: Database;
let tenant: DemoTenant;
let scope: Scope;
let space: DepartmentSpace;
let dealId: string;
let customerEmail: string;

// About 36,000 deals and 72,000 customers: the measured department holds a fifth of them,
// the rest is spread over its sibling department and four other tenants, as on a shared
// production table. (With the department holding half of a small table, a sequential scan is
// a close call for the planner, and a check on it would flip between runs.)
beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, poolMax: 2, poolWaitMs: 10_000, statementTimeoutMs: 60_000 });
  tenant = await seedDemoTenant(db.prisma);
  const others: DemoTenant[] = [];
  for (let i = 0; i < 4; i++) others.push(await seedDemoTenant(db.prisma));
  const from = new Date(Date.now() - 365 * 86_400_000);
  const to = new Date(Date.now() - 86_400_000);
  const spaceOf = (t: DemoTenant, i: number, size: number): DepartmentSpace => ({
    tenantId: t.tenant_id,
    departmentId: t.departments[i]!.id,
    stepIds: t.departments[i]!.steps.map((s) => s.id),
    employeeIds: t.departments[i]!.employees.map((e) => e.id),
    size,
    from,
    to,
  });
  space = {
    ...spaceOf(tenant, 0, 8_000),
    sharedCustomerId: await createSharedCustomer(db.pool, tenant.tenant_id, 'Initrode'),
    sharedEvery: 100,
  };
  const spaces = [space, spaceOf(tenant, 1, 2_000), ...others.flatMap((t) => [spaceOf(t, 0, 3_500), spaceOf(t, 1, 3_000)])];
  // Two loaders at once, as many as the machine has cores.
  const queue = [...spaces];
  await Promise.all(
    [0, 1].map(async () => {
      for (let s = queue.shift(); s; s = queue.shift()) await loadDeals(db.pool, s, { first: 1, last: s.size });
    }),
  );
  await loadTombstones(db.pool, space, 2_000);
  await db.pool.query('ANALYZE');
  scope = { tenantId: tenant.tenant_id, departmentId: space.departmentId, apiKeyId: 'n/a' };
  const { rows } = await db.pool.query<{ id: string; email: string }>(
    `SELECT d.id::text, c.email FROM deals d
     JOIN deal_customers dc ON dc.tenant_id = d.tenant_id AND dc.deal_id = d.id
     JOIN customers c ON c.tenant_id = dc.tenant_id AND c.id = dc.customer_id
     WHERE d.tenant_id = $1 AND d.department_id = $2 LIMIT 1`,
    [scope.tenantId, scope.departmentId],
  );
  dealId = rows[0]!.id;
  customerEmail = rows[0]!.email;
}, 120_000);

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

/** The real next_cursor of the query's first page (of 2), for a variant with a cursor. */
async function dealsCursor(query: DealListQuery): Promise<string> {
  const page = JSON.parse(await listDeals(db.sql, scope, { ...query, limit: 2 })) as { next_cursor: string | null };
  if (!page.next_cursor) throw new Error(`no second page for ${JSON.stringify(query)}`);
  return page.next_cursor;
}

async function customersCursor(query: CustomerListQuery): Promise<string> {
  const page = JSON.parse(await listCustomers(db.sql, scope, { ...query, limit: 2 })) as { next_cursor: string | null };
  if (!page.next_cursor) throw new Error(`no second page for ${JSON.stringify(query)}`);
  return page.next_cursor;
}

const dealSorts = ['created_at', '-created_at', 'updated_at', '-updated_at', 'volume', '-volume', 'name', '-name'] as const;
const customerSorts = ['created_at', '-created_at', 'updated_at', '-updated_at', 'last_name', '-last_name'] as const;

function dealFilters(): Record<string, DealListQuery> {
  return {
    'no filter': {},
    step_id: { step_id: space.stepIds[1]! },
    employee_id: { employee_id: space.employeeIds[0]! },
    'employee_id=unassigned': { employee_id: 'unassigned' },
    customer_id: { customer_id: space.sharedCustomerId! },
    q: { q: SEARCH_WORD.toLowerCase() },
    'q (2 characters, no trigram)': { q: 'ac' },
    updated_since: { updated_since: new Date(Date.now() - 30 * 86_400_000).toISOString() },
  };
}

/** Every variant of the data layer's reads, each a call with the given client. */
async function variants(): Promise<[string, (sql: Sql) => Promise<unknown>][]> {
  const list: [string, (sql: Sql) => Promise<unknown>][] = [];
  for (const [name, filter] of Object.entries(dealFilters())) {
    for (const sort of dealSorts) {
      list.push([`listDeals ${name}, sort=${sort}`, (p) => listDeals(p, scope, { ...filter, sort, limit: 50 })]);
      const cursor = await dealsCursor({ ...filter, sort });
      list.push([`listDeals ${name}, sort=${sort}, cursor`, (p) => listDeals(p, scope, { ...filter, sort, cursor, limit: 50 })]);
    }
  }
  const since = new Date(Date.now() - 90 * 86_400_000).toISOString();
  for (const sort of ['updated_at', '-updated_at'] as const) {
    for (const extra of [{}, { updated_since: since }]) {
      const query: DealListQuery = { sort, include_deleted: true, ...extra };
      const label = `listDeals include_deleted, sort=${sort}${'updated_since' in extra ? ', updated_since' : ''}`;
      list.push([label, (p) => listDeals(p, scope, { ...query, limit: 50 })]);
      const cursor = await dealsCursor(query);
      list.push([`${label}, cursor`, (p) => listDeals(p, scope, { ...query, cursor, limit: 50 })]);
    }
  }
  const customerFilters: Record<string, CustomerListQuery> = {
    'no filter': {},
    q: { q: 'mill' },
    email: { email: customerEmail.toUpperCase() },
    updated_since: { updated_since: new Date(Date.now() - 30 * 86_400_000).toISOString() },
  };
  for (const [name, filter] of Object.entries(customerFilters)) {
    for (const sort of customerSorts) {
      list.push([`listCustomers ${name}, sort=${sort}`, (p) => listCustomers(p, scope, { ...filter, sort, limit: 50 })]);
      if (name !== 'email') {
        const cursor = await customersCursor({ ...filter, sort });
        list.push([`listCustomers ${name}, sort=${sort}, cursor`, (p) => listCustomers(p, scope, { ...filter, sort, cursor, limit: 50 })]);
      }
    }
  }
  list.push(['getDeal', (p) => findDeal(p, scope, dealId)]);
  list.push(['getCustomer', (p) => findCustomer(p, scope, space.sharedCustomerId!)]);
  list.push(['listDealStepChanges', (p) => listDealStepChanges(p, scope, dealId, { limit: 50 })]);
  return list;
}

/** Plans of the bodies of the SQL-language functions that read a watched table. */
async function functionBodyPlans(): Promise<Explained[]> {
  const { rows: functions } = await db.pool.query<{ name: string; src: string; args: string[] | null; types: string[] }>(
    `SELECT p.proname AS name, p.prosrc AS src, p.proargnames AS args,
            ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t) AS types
     FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
     WHERE p.pronamespace = 'public'::regnamespace AND l.lanname = 'sql'`,
  );
  const plans: Explained[] = [];
  const client = await db.pool.connect();
  try {
    await client.query('SET plan_cache_mode = force_generic_plan');
    for (const f of functions) {
      if (![...WATCHED].some((t) => new RegExp(`\\b(FROM|JOIN)\\s+${t}\\b`, 'i').test(f.src))) continue;
      // Arguments referenced by name become $1, $2, … so the body can be PREPAREd.
      let body = f.src.trim().replace(/;\s*$/, '');
      (f.args ?? []).forEach((arg, i) => {
        body = body.replace(new RegExp(`\\b${arg}\\b`, 'g'), `$${i + 1}`);
      });
      // With a generic plan the argument values do not matter; NULLs keep the SQL literal-free.
      await client.query(`PREPARE body_${f.name} (${f.types.join(', ')}) AS ${body}`);
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) EXECUTE body_${f.name} (${f.types.map(() => 'NULL').join(', ')})`);
      plans.push({ sql: `${f.name}: ${body}`, plan: rows[0]['QUERY PLAN'][0].Plan });
      await client.query(`DEALLOCATE body_${f.name}`);
    }
  } finally {
    await client.query('RESET plan_cache_mode').catch(() => undefined);
    client.release();
  }
  return plans;
}

let plans: Promise<[string, Explained[]][]> | undefined;

/** The plans of every variant, EXPLAINed once for the tests below. */
function variantPlans(): Promise<[string, Explained[]][]> {
  plans ??= (async () => {
    const result: [string, Explained[]][] = [];
    for (const [name, run] of await variants()) {
      const explained: Explained[] = [];
      await run(explaining((text, values) => db.pool.query(text, values), explained));
      result.push([name, explained]);
    }
    return result;
  })();
  return plans;
}

describe('query plans on a loaded database', () => {
  it('use an index for every read variant: no sequential scan of deals, customers, links, tombstones or step changes', async () => {
    const all = await variantPlans();
    const failures: string[] = [];
    for (const [name, explained] of all) {
      expect(explained.length, `${name} ran no SQL through $queryRaw`).toBeGreaterThan(0);
      for (const e of explained) {
        const scans = seqScans(e.plan);
        if (scans.length) failures.push(`${name}: ${scans.join(', ')}\n${planText(e.plan)}\n${e.sql}`);
      }
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
    expect(all.length).toBeGreaterThan(150);
  });

  // A keyset row that repeats the equality columns (`(d.tenant_id, d.department_id,
  // d.created_at, d.id) < (…)`) makes PostgreSQL start the scan at the department's edge, so a
  // page N rows deep reads N index entries: at 1,000,000 deals a page 900,000 deep read ~11,000
  // index pages (60–140 ms) where `… AND (d.created_at, d.id) < (…)` reads 5 (0.05 ms).
  it('start every cursor page at the cursor, not at the edge of the department', async () => {
    const failures: string[] = [];
    for (const [name, explained] of await variantPlans()) {
      for (const e of explained) {
        const scans = keysetScansFromEdge(e.plan);
        if (scans.length) failures.push(`${name}: ${scans.join('; ')}`);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('use an index inside any SQL function that reads a table (the JSON builders read none: they are inlined)', async () => {
    const plans = await functionBodyPlans();
    const failures = plans.filter((p) => seqScans(p.plan).length).map((p) => `${p.sql}\n${planText(p.plan)}`);
    expect(failures, failures.join('\n\n')).toEqual([]);
  });

  it('would notice a missing index (the check itself works)', async () => {
    // Inside a transaction that is rolled back: without any index on deals (the primary key
    // goes too, with the foreign keys that need it), the default list must read the table.
    const explained: Explained[] = [];
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE tablename = 'deals' AND indexname <> 'deals_pkey'`,
      );
      for (const { indexname } of rows) await client.query(`DROP INDEX ${indexname}`);
      await client.query('ALTER TABLE deals DROP CONSTRAINT deals_pkey CASCADE');
      await listDeals(explaining((text, values) => client.query(text, values), explained), scope, { limit: 50 });
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(explained.flatMap((e) => seqScans(e.plan))).toContain('Seq Scan on deals');
    const { rows } = await db.pool.query(`SELECT 1 FROM pg_indexes WHERE indexname IN ('deals_created_idx', 'deals_pkey')`);
    expect(rows).toHaveLength(2);
  });
});

