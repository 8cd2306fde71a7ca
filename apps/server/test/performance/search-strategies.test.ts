// The two strategies of a search (data/bounded-search.ts) give the same pages as a plain
// filter would, and each runs exactly when it should: the walk alone for a common term or a
// small tenant or department, the trigram lookup for a rare term beyond the walk's 10,000
// rows, never for a term without a trigram. Which branch ran is read from EXPLAIN ANALYZE of
// the very statement the data layer sends (a branch that did not run shows no loops).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DepartmentSpace, loadCustomers, loadDeals } from '../../bench/support/bulk-load.ts';
import { type DemoTenant, seedDemoTenant } from '../../src/admin/tenancy.ts';
import type { Scope } from '../../src/auth/scope.ts';
import { SEARCH_WALK_ROWS } from '../../src/data/bounded-search.ts';
import { type CustomerListQuery, listCustomers } from '../../src/data/customers.ts';
import { type DealListQuery, listDeals } from '../../src/data/deals-read.ts';
import { createDatabase, type Database } from '../../src/db/database.ts';
import type { Sql } from '../../src/db/sql.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { type PlanNode, planNodes } from './generic-plans.ts';

const LARGE = SEARCH_WALK_ROWS + 2_000;
let database: TestDatabase;
let db: Database;
let large: Scope;
let small: Scope;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, poolMax: 2, poolWaitMs: 10_000, statementTimeoutMs: 60_000 });
  const big = await seedDemoTenant(db.prisma);
  const little = await seedDemoTenant(db.prisma);
  const span = { from: new Date(Date.now() - 365 * 86_400_000), to: new Date(Date.now() - 86_400_000) };
  const space = (t: DemoTenant, i: number, size: number): DepartmentSpace => ({
    tenantId: t.tenant_id,
    departmentId: t.departments[i]!.id,
    stepIds: t.departments[i]!.steps.map((s) => s.id),
    employeeIds: t.departments[i]!.employees.map((e) => e.id),
    size,
    ...span,
  });
  // The large department's deals bring 2 customers each: the large tenant has 2 × LARGE.
  await loadDeals(db.pool, space(big, 0, LARGE), { first: 1, last: LARGE });
  await loadDeals(db.pool, space(big, 1, 300), { first: 1, last: 300 });
  await loadCustomers(db.pool, little.tenant_id, 200, span);
  await db.pool.query('VACUUM (ANALYZE)');
  large = { tenantId: big.tenant_id, departmentId: big.departments[0]!.id, apiKeyId: 'n/a' };
  small = { tenantId: little.tenant_id, departmentId: little.departments[0]!.id, apiKeyId: 'n/a' };
}, 120_000);

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

/** An Sql that runs each statement under EXPLAIN ANALYZE (reads only) and keeps the plan. */
function analyzing(into: PlanNode[]): Sql {
  const run = async (strings: TemplateStringsArray, values: unknown[]) => {
    const statement = Prisma.sql(strings, ...values);
    const { rows } = await db.pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`, statement.values as unknown[]);
    into.push(rows[0]['QUERY PLAN'][0].Plan);
  };
  return {
    rows: async <Row>(strings: TemplateStringsArray, ...values: unknown[]) => {
      await run(strings, values);
      return [] as Row[];
    },
    count: async (strings: TemplateStringsArray, ...values: unknown[]) => {
      await run(strings, values);
      return 0;
    },
  };
}

/** Whether the statement called the trigram lookup: 'ran', 'skipped' (planned, never run) or 'absent'. */
async function lookup(list: (sql: Sql) => Promise<unknown>): Promise<'ran' | 'skipped' | 'absent'> {
  const plans: PlanNode[] = [];
  await list(analyzing(plans));
  const scans = plans.flatMap(planNodes).filter((n) => n['Function Name']?.endsWith('_search_candidates')) as (PlanNode & {
    'Actual Loops'?: number;
  })[];
  if (scans.length === 0) return 'absent';
  return scans.some((s) => (s['Actual Loops'] ?? 0) > 0) ? 'ran' : 'skipped';
}

type Page = { data: { id: string }[]; next_cursor: string | null };

/** Every page of the list, `limit` at a time, concatenated. */
async function allPages(list: (cursor: string | undefined) => Promise<string>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = JSON.parse(await list(cursor)) as Page;
    ids.push(...page.data.map((d) => d.id));
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return ids;
}

const customerMatches = async (scope: Scope, pattern: string) =>
  (
    await db.pool.query<{ id: string }>(
      `SELECT id::text FROM customers
       WHERE tenant_id = $1 AND (lower(last_name) LIKE $2 OR lower(first_name) LIKE $2 OR lower(company) LIKE $2 OR lower(email) LIKE $2)
       ORDER BY created_at DESC, id DESC`,
      [scope.tenantId, pattern],
    )
  ).rows.map((r) => r.id);

const dealMatches = async (scope: Scope, pattern: string) =>
  (
    await db.pool.query<{ id: string }>(
      'SELECT id::text FROM deals WHERE tenant_id = $1 AND department_id = $2 AND name ILIKE $3 ORDER BY created_at DESC, id DESC',
      [scope.tenantId, scope.departmentId, pattern],
    )
  ).rows.map((r) => r.id);

describe('customer search', () => {
  const search = (scope: Scope, query: CustomerListQuery) => (sql: Sql) => listCustomers(sql, scope, query);
  const pages = (scope: Scope, q: string, limit: number) =>
    allPages((cursor) => listCustomers(db.sql, scope, { q, limit, ...(cursor ? { cursor } : {}) }));

  it('a rare term of a large tenant, beyond the walk: found through the trigram lookup, page by page', async () => {
    // The tenant's oldest customers: outside the newest 10,000 that the walk reads.
    const expected = await customerMatches(large, '%c12.a@%');
    expect(expected.length).toBeGreaterThan(0);
    expect(await lookup(search(large, { q: 'c12.a@', limit: 25 }))).toBe('ran');
    expect(await pages(large, 'c12.a@', 1)).toEqual(expected);
  });

  it('a common term of a large tenant: a page from the walk alone', async () => {
    const expected = (await customerMatches(large, '%miller%')).slice(0, 25);
    expect(expected).toHaveLength(25);
    expect(await lookup(search(large, { q: 'Miller', limit: 25 }))).toBe('skipped');
    expect((JSON.parse(await listCustomers(db.sql, large, { q: 'Miller', limit: 25 })) as Page).data.map((c) => c.id)).toEqual(expected);
  });

  it("a small tenant's term, however common among the other tenants' customers: the walk reads the tenant whole, no lookup", async () => {
    const expected = await customerMatches(small, '%miller%');
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(25);
    expect(await lookup(search(small, { q: 'miller', limit: 25 }))).toBe('skipped');
    expect(await pages(small, 'miller', 25)).toEqual(expected);
  });

  it('a term without a trigram: an unbounded walk, no lookup in the statement at all', async () => {
    expect(await lookup(search(large, { q: 'c1', limit: 25 }))).toBe('absent');
    expect(await pages(small, 'mi', 10)).toEqual(await customerMatches(small, '%mi%'));
  });
});

describe('deal search', () => {
  const search = (scope: Scope, query: DealListQuery) => (sql: Sql) => listDeals(sql, scope, query);
  const pages = (scope: Scope, q: string, limit: number) =>
    allPages((cursor) => listDeals(db.sql, scope, { q, limit, ...(cursor ? { cursor } : {}) }));

  it('a rare name in a large department, beyond the walk: found through the trigram lookup, page by page', async () => {
    const expected = await dealMatches(large, '%#123%');
    expect(expected.length).toBeGreaterThan(1);
    expect(await lookup(search(large, { q: '#123', limit: 25 }))).toBe('ran');
    expect(await pages(large, '#123', 2)).toEqual(expected);
  });

  it('a common name: a page from the walk alone', async () => {
    const expected = (await dealMatches(large, '%globex%')).slice(0, 25);
    expect(await lookup(search(large, { q: 'globex', limit: 25 }))).toBe('skipped');
    expect((JSON.parse(await listDeals(db.sql, large, { q: 'globex', limit: 25 })) as Page).data.map((d) => d.id)).toEqual(expected);
  });

  it('a small department of the same tenant: the walk reads it whole, no lookup', async () => {
    const { rows } = await db.pool.query<{ id: string }>(
      'SELECT department_id::text AS id FROM deals WHERE tenant_id = $1 AND department_id <> $2 LIMIT 1',
      [large.tenantId, large.departmentId],
    );
    const department = { ...large, departmentId: rows[0]!.id };
    const expected = await dealMatches(department, '%globex%');
    expect(expected.length).toBeGreaterThan(0);
    expect(await lookup(search(department, { q: 'globex', limit: 25 }))).toBe('skipped');
    expect(await pages(department, 'globex', 25)).toEqual(expected);
  });
});
