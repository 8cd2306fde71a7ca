// The database the plan checks run on: loaded set-based (bench/support/bulk-load.ts, the loader
// of `npm run bench:scale`) over several tenants and departments, then VACUUM ANALYZEd, so that the
// planner's choices are the ones it makes on a real shared table.
//
// About 36,000 deals and 72,000 customers: the measured department holds a fifth of them,
// the rest is spread over its sibling department and four other tenants. (With the department
// holding half of a small table, a sequential scan is a close call for the planner, and a
// check on it would flip between runs.) Besides, 500 tenants' worth of departments, steps,
// employees and API keys, and 50,000 idempotency records, so that the lookups in those tables
// face a table that an index pays off on, as in production.

import { createSharedCustomer, type DepartmentSpace, loadDeals, loadTombstones, type Queryable } from '../../bench/support/bulk-load.ts';
import { type DemoTenant, seedDemoTenant } from '../../src/admin/tenancy.ts';
import type { Scope } from '../../src/auth/scope.ts';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

export type LoadedDatabase = {
  database: TestDatabase;
  db: Database;
  /** The measured department, and a deal of it with a customer. */
  scope: Scope;
  space: DepartmentSpace;
  dealId: string;
  customerEmail: string;
  close(): Promise<void>;
};

export async function loadedDatabase(): Promise<LoadedDatabase> {
  const database = await createTestDatabase();
  const db = createDatabase({ url: database.url, poolMax: 2, poolWaitMs: 10_000, statementTimeoutMs: 60_000 });
  const tenant = await seedDemoTenant(db.prisma);
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
  const space: DepartmentSpace = {
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
  await loadTenancy(db.pool, 500);
  await loadIdempotencyRecords(db.pool, 50_000);
  // VACUUM too, as autovacuum does to a live table: it also merges the trigram indexes'
  // pending lists, which a planner facing a fresh load prices as slow as a table scan.
  await db.pool.query('VACUUM (ANALYZE)');
  const scope = { tenantId: tenant.tenant_id, departmentId: space.departmentId, apiKeyId: 'n/a' };
  const { rows } = await db.pool.query<{ id: string; email: string }>(
    `SELECT d.id::text, c.email FROM deals d
     JOIN deal_customers dc ON dc.tenant_id = d.tenant_id AND dc.deal_id = d.id
     JOIN customers c ON c.tenant_id = dc.tenant_id AND c.id = dc.customer_id
     WHERE d.tenant_id = $1 AND d.department_id = $2 LIMIT 1`,
    [scope.tenantId, scope.departmentId],
  );
  return {
    database,
    db,
    scope,
    space,
    dealId: rows[0]!.id,
    customerEmail: rows[0]!.email,
    async close() {
      await db.close();
      await database.drop();
    },
  };
}

/** `count` tenants, each with 4 departments of 5 steps, 10 employees and 2 API keys granted all 4. */
async function loadTenancy(db: Queryable, count: number): Promise<void> {
  await db.query(
    `WITH tenant AS MATERIALIZED (SELECT gen_random_uuid() AS id, n FROM generate_series(1, $1::int) AS n),
     department AS MATERIALIZED (SELECT t.id AS tenant_id, k, gen_random_uuid() AS id FROM tenant t, generate_series(1, 4) AS k),
     employee AS MATERIALIZED (SELECT t.id AS tenant_id, k, gen_random_uuid() AS id FROM tenant t, generate_series(1, 10) AS k),
     api_key AS MATERIALIZED (SELECT t.id AS tenant_id, k, gen_random_uuid() AS id FROM tenant t, generate_series(1, 2) AS k),
     tenants AS (INSERT INTO tenants (id, name) SELECT id, 'Tenant ' || n FROM tenant),
     departments AS (INSERT INTO departments (tenant_id, id, name) SELECT tenant_id, id, 'Department ' || k FROM department),
     steps AS (
       INSERT INTO steps (tenant_id, id, department_id, name, position)
       SELECT d.tenant_id, gen_random_uuid(), d.id, 'Step ' || p, p FROM department d, generate_series(1, 5) AS p
     ),
     employees AS (
       INSERT INTO employees (tenant_id, id, first_name, last_name, email)
       SELECT tenant_id, id, 'Employee', 'No. ' || k, 'employee' || k || '@example.com' FROM employee
     ),
     department_employees AS (
       INSERT INTO department_employees (tenant_id, department_id, employee_id)
       SELECT e.tenant_id, d.id, e.id FROM employee e JOIN department d ON d.tenant_id = e.tenant_id AND d.k = 1 + e.k % 4
     ),
     api_keys AS (
       INSERT INTO api_keys (tenant_id, id, name, prefix, secret_hash)
       SELECT tenant_id, id, 'key ' || k, 'dk_' || left(id::text, 8), sha256(id::text::bytea) FROM api_key
     ),
     grants AS (
       INSERT INTO api_key_departments (tenant_id, api_key_id, department_id)
       SELECT k.tenant_id, k.id, d.id FROM api_key k JOIN department d ON d.tenant_id = k.tenant_id
     )
     SELECT count(*) FROM tenant`,
    [count],
  );
}

/**
 * `count` stored responses of the tenants above, expiring over the next 24 hours, about 1 % of
 * them already expired: what a sweep every 10 minutes leaves.
 */
async function loadIdempotencyRecords(db: Queryable, count: number): Promise<void> {
  await db.query(
    `INSERT INTO idempotency_records (tenant_id, key, request_hash, status_code, response_body, response_headers, created_at, expires_at)
     SELECT t.ids[1 + i % cardinality(t.ids)], gen_random_uuid()::text, md5(i::text), 201, '{}', '{}',
            now() - (i % 1440) * interval '1 minute', now() + interval '24 hours' - (i % 1440) * interval '1 minute' - interval '15 minutes'
     FROM generate_series(1, $1::int) AS i, (SELECT array_agg(id) AS ids FROM tenants) t`,
    [count],
  );
}
