// Writes of deals, each ONE SQL statement (one database round trip): the checks (step and
// employee of this department, customers of this tenant), the writes conditioned on them,
// and the response JSON, built by PostgreSQL from the written rows. A failed check writes
// nothing: every CTE's insert is conditioned on `allowed.ok`. Each write's events are CTEs
// that read the CTE that wrote, so no change goes without its event nor an event without its
// change (docs/design/change-feed/design.md §b).
import type { Deal, DealCreate, DealPatch } from '@deals/api-types';
import type { Scope } from '../auth/scope.ts';
import type { Sql } from '../db/sql.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { customerColumnList, customerColumnValues, customerRecordColumns } from './customer-columns.ts';
import { dealCustomersJson, employeeName } from './deals-read.ts';
import { type EventStamp, eventIdAt, eventInsert } from './events.ts';
import { type IdempotencyInput, type IdempotencyOutcome, idempotencyColumns, idempotencyCtes, idempotencyStore } from './idempotency.ts';
import type { JsonText } from './json-text.ts';

export type DealChecks = {
  found?: boolean;
  precondition_ok?: boolean;
  step_ok: boolean;
  employee_ok: boolean;
  unknown_customer_ids: string[];
};

export type DealWriteResult = IdempotencyOutcome & { checks: DealChecks; body: JsonText<Deal> | null; version: number | null };

type Ids = { dealId: string; stepChangeId: string; customerIds: string[] };

/** Steps, employee and linked customers named by a write, each checked against the scope. */
function referenceCtes(scope: Scope, stepId: string | undefined, employeeId: string | null | undefined, customerIds: readonly string[]) {
  const { tenantId: t, departmentId: d } = scope;
  return Prisma.sql`
    employee AS (
      SELECT e.id, e.first_name || ' ' || e.last_name AS name
      FROM employees e
      JOIN department_employees de ON de.tenant_id = e.tenant_id AND de.employee_id = e.id
      WHERE e.tenant_id = ${t}::uuid AND de.department_id = ${d}::uuid AND e.id = ${employeeId ?? null}::uuid
    ),
    linked AS (
      SELECT c, array_position(${customerIds}::uuid[], c.id) AS pos
      FROM customers c
      WHERE c.tenant_id = ${t}::uuid AND c.id = ANY (${customerIds}::uuid[])
    ),
    reference_checks AS (
      SELECT (${employeeId ?? null}::uuid IS NULL OR EXISTS (SELECT 1 FROM employee)) AS employee_ok,
             ARRAY(SELECT u::text FROM unnest(${customerIds}::uuid[]) WITH ORDINALITY AS x (u, n)
                   WHERE u NOT IN (SELECT (l.c).id FROM linked l) ORDER BY n) AS unknown_customer_ids
    ),
    step AS (
      SELECT id FROM steps
      WHERE tenant_id = ${t}::uuid AND department_id = ${d}::uuid AND (${stepId ?? null}::uuid IS NULL OR id = ${stepId ?? null}::uuid)
      ORDER BY position
      LIMIT 1
    )`;
}

export async function insertDeal(
  sql: Sql,
  scope: Scope,
  input: DealCreate,
  ids: Ids,
  idem: IdempotencyInput | undefined,
  headers: Record<string, string>,
  events: EventStamp,
): Promise<DealWriteResult> {
  const { tenantId: t, departmentId: d } = scope;
  const newCustomers = (input.customers ?? []).map((c, i) => ({ ...c, id: ids.customerIds[i], position: i + 1 }));
  const linkedIds = input.customer_ids ?? [];
  const rows = await sql.rows<DealWriteResult>`
    WITH ${idempotencyCtes(t, idem)},
    ${referenceCtes(scope, input.step_id, input.employee_id, linkedIds)},
    input_customers AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(newCustomers)}::jsonb)
        AS c (id uuid, position int, ${customerRecordColumns})
    ),
    checks AS (
      SELECT EXISTS (SELECT 1 FROM step) AS step_ok, r.employee_ok, r.unknown_customer_ids FROM reference_checks r
    ),
    allowed AS (
      SELECT (SELECT go FROM proceed) AND step_ok AND employee_ok AND cardinality(unknown_customer_ids) = 0 AS ok
      FROM checks
    ),
    new_customers AS (
      INSERT INTO customers AS c (tenant_id, id, ${customerColumnList}, created_at, updated_at)
      SELECT ${t}::uuid, i.id, ${customerColumnValues('i')}, now(), now()
      FROM input_customers i
      WHERE (SELECT ok FROM allowed)
      RETURNING c.*
    ),
    new_deal AS (
      INSERT INTO deals AS d (tenant_id, id, department_id, step_id, employee_id, name, volume, note, created_at, updated_at)
      SELECT ${t}::uuid, ${ids.dealId}::uuid, ${d}::uuid, (SELECT id FROM step), ${input.employee_id ?? null}::uuid,
             ${input.name}, ${input.volume ?? 0}::bigint, ${input.note ?? null}, now(), now()
      WHERE (SELECT ok FROM allowed)
      RETURNING d.*
    ),
    all_links AS (
      SELECT id AS customer_id, position FROM input_customers
      UNION ALL
      SELECT (l.c).id, ${newCustomers.length}::int + l.pos FROM linked l
    ),
    links AS (
      INSERT INTO deal_customers (tenant_id, deal_id, customer_id, position)
      SELECT ${t}::uuid, nd.id, a.customer_id, a.position FROM new_deal nd, all_links a
    ),
    first_step AS (
      INSERT INTO deal_step_changes (tenant_id, id, deal_id, from_step_id, to_step_id, changed_at)
      SELECT ${t}::uuid, ${ids.stepChangeId}::uuid, nd.id, NULL, nd.step_id, nd.created_at FROM new_deal nd
    ),
    response AS (
      SELECT api_deal_json(
        ROW(nd.*)::deals,
        (SELECT name FROM employee),
        (SELECT coalesce(json_agg(x.j ORDER BY x.position), '[]'::json) FROM (
           SELECT api_customer_json(ROW(c.*)::customers) AS j, i.position
           FROM new_customers c JOIN input_customers i ON i.id = c.id
           UNION ALL
           SELECT api_customer_json(l.c), ${newCustomers.length}::int + l.pos FROM linked l
        ) x)
      )::text AS body
      FROM new_deal nd
    ),
    -- customer.created per new customer (ids 1..n, in the request's order), then deal.created
    -- (id n + 1), whose object is the response's own text: equal to GET by construction.
    customer_events AS (${eventInsert(
      events.origin,
      {
        id: eventIdAt(events, Prisma.sql`i.position`),
        type: Prisma.sql`'customer.created'`,
        tenantId: Prisma.sql`c.tenant_id`,
        departmentId: Prisma.sql`NULL::uuid`,
        resourceId: Prisma.sql`c.id`,
        version: Prisma.sql`c.version`,
        at: Prisma.sql`c.created_at`,
        data: Prisma.sql`row_to_json(ROW(api_customer_json(ROW(c.*)::customers), c.version)::api_event_change)`,
      },
      Prisma.sql`new_customers c JOIN input_customers i ON i.id = c.id`,
    )}),
    deal_event AS (${eventInsert(
      events.origin,
      {
        id: eventIdAt(events, newCustomers.length + 1),
        type: Prisma.sql`'deal.created'`,
        tenantId: Prisma.sql`nd.tenant_id`,
        departmentId: Prisma.sql`nd.department_id`,
        resourceId: Prisma.sql`nd.id`,
        version: Prisma.sql`nd.version`,
        at: Prisma.sql`nd.created_at`,
        data: Prisma.sql`row_to_json(ROW(r.body::json, nd.version)::api_event_change)`,
      },
      Prisma.sql`new_deal nd, response r`,
    )})
    ${idempotencyStore(t, idem, 201, headers)}
    SELECT (SELECT row_to_json(checks) FROM checks) AS checks,
           (SELECT body FROM response) AS body,
           1 AS version,
           ${idempotencyColumns(idem)}`;
  return rows[0]!;
}

/** Only the fields present in the patch are set. */
function assignments(patch: DealPatch): Prisma.Sql {
  const set: Prisma.Sql[] = [];
  if (patch.name !== undefined) set.push(Prisma.sql`name = ${patch.name}`);
  if (patch.volume !== undefined) set.push(Prisma.sql`volume = ${patch.volume}::bigint`);
  if (patch.note !== undefined) set.push(Prisma.sql`note = ${patch.note}`);
  if (patch.employee_id !== undefined) set.push(Prisma.sql`employee_id = ${patch.employee_id}::uuid`);
  if (patch.step_id !== undefined) set.push(Prisma.sql`step_id = ${patch.step_id}::uuid`);
  return set.length ? Prisma.sql`, ${Prisma.join(set)}` : Prisma.empty;
}

export async function updateDeal(
  sql: Sql,
  scope: Scope,
  dealId: string,
  patch: DealPatch,
  ifMatch: number[] | null,
  stepChangeId: string,
  events: EventStamp,
): Promise<DealWriteResult> {
  const { tenantId: t, departmentId: d } = scope;
  const relink = patch.customer_ids !== undefined;
  const customerIds = patch.customer_ids ?? [];
  const rows = await sql.rows<DealWriteResult>`
    WITH current AS (
      SELECT * FROM deals
      WHERE tenant_id = ${t}::uuid AND department_id = ${d}::uuid AND id = ${dealId}::uuid
      FOR UPDATE
    ),
    ${referenceCtes(scope, patch.step_id, patch.employee_id, customerIds)},
    checks AS (
      SELECT EXISTS (SELECT 1 FROM current) AS found,
             (${ifMatch}::int[] IS NULL OR (SELECT version FROM current) = ANY (${ifMatch}::int[])) AS precondition_ok,
             (${patch.step_id ?? null}::uuid IS NULL OR EXISTS (SELECT 1 FROM step)) AS step_ok,
             r.employee_ok, r.unknown_customer_ids
      FROM reference_checks r
    ),
    allowed AS (
      SELECT found AND precondition_ok AND step_ok AND employee_ok AND cardinality(unknown_customer_ids) = 0 AS ok
      FROM checks
    ),
    updated AS (
      UPDATE deals d SET version = d.version + 1, updated_at = now() ${assignments(patch)}
      FROM current c
      WHERE d.tenant_id = c.tenant_id AND d.id = c.id AND (SELECT ok FROM allowed)
      RETURNING d.*
    ),
    moved AS (
      INSERT INTO deal_step_changes (tenant_id, id, deal_id, from_step_id, to_step_id, changed_at)
      SELECT u.tenant_id, ${stepChangeId}::uuid, u.id, c.step_id, u.step_id, u.updated_at
      FROM updated u JOIN current c ON c.id = u.id
      WHERE u.step_id <> c.step_id
    ),
    unlinked AS (
      DELETE FROM deal_customers dc
      USING updated u
      WHERE ${relink}::boolean AND dc.tenant_id = u.tenant_id AND dc.deal_id = u.id
        AND dc.customer_id <> ALL (${customerIds}::uuid[])
    ),
    relinked AS (
      INSERT INTO deal_customers (tenant_id, deal_id, customer_id, position)
      SELECT u.tenant_id, u.id, (l.c).id, l.pos FROM updated u, linked l
      WHERE ${relink}::boolean
      ON CONFLICT (tenant_id, deal_id, customer_id) DO UPDATE SET position = excluded.position
    ),
    -- The new representation (the response) and the old one, both from the statement's one
    -- snapshot: deal_customers read here are the OLD links; the new ones are in "linked".
    -- The old row is "cur", not "c": dealCustomersJson names its customers "c".
    change AS (
      SELECT u.tenant_id, u.id, u.department_id, u.version, u.updated_at, u.step_id <> cur.step_id AS moved,
             n.json AS new_json, api_previous_attributes(o.json, n.json) AS previous_attributes
      FROM updated u JOIN current cur ON cur.id = u.id,
      LATERAL (
        SELECT CASE WHEN ${relink}::boolean
          THEN (SELECT coalesce(json_agg(api_customer_json(l.c) ORDER BY l.pos), '[]'::json) FROM linked l)
          ELSE ${dealCustomersJson('u')} END AS customers
      ) nc,
      LATERAL (SELECT api_deal_json(ROW(u.*)::deals, ${employeeName('u')}, nc.customers) AS json) n,
      LATERAL (
        SELECT api_deal_json(ROW(cur.*)::deals, ${employeeName('cur')},
                             CASE WHEN ${relink}::boolean THEN ${dealCustomersJson('cur')} ELSE nc.customers END) AS json
      ) o
    ),
    -- deal.updated always; deal.step_changed too, with the same data, when the step moved.
    deal_events AS (${eventInsert(
      events.origin,
      {
        id: eventIdAt(events, Prisma.sql`t.n`),
        type: Prisma.sql`t.type`,
        tenantId: Prisma.sql`x.tenant_id`,
        departmentId: Prisma.sql`x.department_id`,
        resourceId: Prisma.sql`x.id`,
        version: Prisma.sql`x.version`,
        at: Prisma.sql`x.updated_at`,
        data: Prisma.sql`row_to_json(ROW(x.new_json, x.previous_attributes, x.version)::api_event_update)`,
      },
      Prisma.sql`change x CROSS JOIN (VALUES (1, 'deal.updated'), (2, 'deal.step_changed')) AS t (n, type) WHERE t.n = 1 OR x.moved`,
    )})
    SELECT row_to_json(checks) AS checks,
           (SELECT new_json::text FROM change) AS body,
           (SELECT version FROM updated) AS version,
           true AS lock_acquired, NULL::json AS prior
    FROM checks`;
  return rows[0]!;
}

export type DeleteResult = { found: boolean; precondition_ok: boolean };

export async function deleteDeal(
  sql: Sql,
  scope: Scope,
  dealId: string,
  ifMatch: number[] | null,
  events: EventStamp,
): Promise<DeleteResult> {
  const { tenantId: t, departmentId: d } = scope;
  const rows = await sql.rows<DeleteResult>`
    WITH current AS (
      SELECT tenant_id, id, department_id, version FROM deals
      WHERE tenant_id = ${t}::uuid AND department_id = ${d}::uuid AND id = ${dealId}::uuid
      FOR UPDATE
    ),
    checks AS (
      SELECT EXISTS (SELECT 1 FROM current) AS found,
             (${ifMatch}::int[] IS NULL OR (SELECT version FROM current) = ANY (${ifMatch}::int[])) AS precondition_ok
    ),
    deleted AS (
      DELETE FROM deals x USING current c
      WHERE x.tenant_id = c.tenant_id AND x.id = c.id AND (SELECT found AND precondition_ok FROM checks)
      RETURNING x.tenant_id, x.id, x.department_id
    ),
    tombstone AS (
      INSERT INTO deal_tombstones (tenant_id, id, department_id, deleted_at)
      SELECT tenant_id, id, department_id, now() FROM deleted
      RETURNING *
    ),
    -- The object is the tombstone; its version is one past the deal's last, so a late
    -- deal.updated loses to the delete.
    deleted_event AS (${eventInsert(
      events.origin,
      {
        id: eventIdAt(events, 1),
        type: Prisma.sql`'deal.deleted'`,
        tenantId: Prisma.sql`ts.tenant_id`,
        departmentId: Prisma.sql`ts.department_id`,
        resourceId: Prisma.sql`ts.id`,
        version: Prisma.sql`c.version + 1`,
        at: Prisma.sql`ts.deleted_at`,
        // The DealTombstone as listDeals?include_deleted=true renders it.
        data: Prisma.sql`row_to_json(ROW((SELECT row_to_json(r) FROM (SELECT ts.id, api_timestamp(ts.deleted_at) AS deleted_at) r),
                                         c.version + 1)::api_event_change)`,
      },
      Prisma.sql`tombstone ts JOIN current c ON c.id = ts.id`,
    )})
    SELECT found, precondition_ok FROM checks`;
  return rows[0]!;
}
