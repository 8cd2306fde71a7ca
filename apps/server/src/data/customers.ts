// Customers are tenant-wide: every department of the tenant sees the same ones. One SQL
// statement per operation, the JSON built by PostgreSQL (api_customer_json).
import type { Customer, CustomerCreate, CustomerPatch, operations } from '@deals/api-types';
import type { Scope } from '../auth/scope.ts';
import type { Sql } from '../db/sql.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { searchedPage } from './bounded-search.ts';
import { customerColumnList, customerColumns, customerRecordColumns } from './customer-columns.ts';
import { likePattern } from './deals-read.ts';
import { type EventStamp, eventIdAt, eventInsert } from './events.ts';
import { type IdempotencyInput, type IdempotencyOutcome, idempotencyColumns, idempotencyCtes, idempotencyStore } from './idempotency.ts';
import type { JsonText } from './json-text.ts';
import { cursorKeys, decodeCursor, type Page, type PageRow, pageBody } from './pagination.ts';

export async function findCustomer(sql: Sql, scope: Scope, customerId: string) {
  const rows = await sql.rows<{ json: JsonText<Customer>; version: number }>`
    SELECT api_customer_json(c)::text AS json, c.version
    FROM customers c
    WHERE c.tenant_id = ${scope.tenantId}::uuid AND c.id = ${customerId}::uuid`;
  return rows[0];
}

export type CustomerWriteResult = IdempotencyOutcome & { body: JsonText<Customer> | null };

export async function insertCustomer(
  sql: Sql,
  scope: Scope,
  input: CustomerCreate,
  id: string,
  idem: IdempotencyInput | undefined,
  headers: Record<string, string>,
  events: EventStamp,
): Promise<CustomerWriteResult> {
  const t = scope.tenantId;
  const rows = await sql.rows<CustomerWriteResult>`
    WITH ${idempotencyCtes(t, idem)},
    input AS (
      SELECT * FROM jsonb_to_record(${JSON.stringify(input)}::jsonb) AS i (${customerRecordColumns})
    ),
    inserted AS (
      INSERT INTO customers AS c (tenant_id, id, ${customerColumnList}, created_at, updated_at)
      SELECT ${t}::uuid, ${id}::uuid, ${customerColumnList}, now(), now() FROM input
      WHERE (SELECT go FROM proceed)
      RETURNING c.*
    ),
    response AS (
      SELECT api_customer_json(ROW(c.*)::customers)::text AS body FROM inserted c
    ),
    created_event AS (${eventInsert(
      events.origin,
      {
        id: eventIdAt(events, 1),
        type: Prisma.sql`'customer.created'`,
        tenantId: Prisma.sql`c.tenant_id`,
        departmentId: Prisma.sql`NULL::uuid`,
        resourceId: Prisma.sql`c.id`,
        version: Prisma.sql`c.version`,
        at: Prisma.sql`c.created_at`,
        data: Prisma.sql`row_to_json(ROW(r.body::json, c.version)::api_event_change)`,
      },
      Prisma.sql`inserted c, response r`,
    )})
    ${idempotencyStore(t, idem, 201, headers)}
    SELECT (SELECT body FROM response) AS body, ${idempotencyColumns(idem)}`;
  return rows[0]!;
}

// `column = p.column` for each writable column: constant SQL, picked by the patch's keys.
const assignments = Object.fromEntries(customerColumns.map((c) => [c, Prisma.raw(`${c} = p.${c}`)])) as Record<
  (typeof customerColumns)[number],
  Prisma.Sql
>;

export type CustomerUpdateResult = { found: boolean; precondition_ok: boolean; body: JsonText<Customer> | null; version: number | null };

export async function updateCustomer(
  sql: Sql,
  scope: Scope,
  customerId: string,
  patch: CustomerPatch,
  ifMatch: number[] | null,
  events: EventStamp,
): Promise<CustomerUpdateResult> {
  const t = scope.tenantId;
  const set = customerColumns.filter((column) => patch[column] !== undefined).map((column) => assignments[column]);
  const rows = await sql.rows<CustomerUpdateResult>`
    WITH current AS (
      SELECT * FROM customers WHERE tenant_id = ${t}::uuid AND id = ${customerId}::uuid FOR UPDATE
    ),
    checks AS (
      SELECT EXISTS (SELECT 1 FROM current) AS found,
             (${ifMatch}::int[] IS NULL OR (SELECT version FROM current) = ANY (${ifMatch}::int[])) AS precondition_ok
    ),
    updated AS (
      UPDATE customers c
      SET version = c.version + 1, updated_at = now(), ${Prisma.join(set)}
      FROM jsonb_to_record(${JSON.stringify(patch)}::jsonb) AS p (${customerRecordColumns})
      WHERE c.tenant_id = ${t}::uuid AND c.id = ${customerId}::uuid AND (SELECT found AND precondition_ok FROM checks)
      RETURNING c.*
    ),
    change AS (
      SELECT u.tenant_id, u.id, u.version, u.updated_at, n.json AS new_json,
             api_previous_attributes(api_customer_json(ROW(c.*)::customers), n.json) AS previous_attributes
      FROM updated u JOIN current c ON c.id = u.id,
      LATERAL (SELECT api_customer_json(ROW(u.*)::customers) AS json) n
    ),
    -- Tenant-wide (department NULL): every department's feed gets it, as any department may
    -- have linked the customer.
    updated_event AS (${eventInsert(
      events.origin,
      {
        id: eventIdAt(events, 1),
        type: Prisma.sql`'customer.updated'`,
        tenantId: Prisma.sql`x.tenant_id`,
        departmentId: Prisma.sql`NULL::uuid`,
        resourceId: Prisma.sql`x.id`,
        version: Prisma.sql`x.version`,
        at: Prisma.sql`x.updated_at`,
        data: Prisma.sql`row_to_json(ROW(x.new_json, x.previous_attributes, x.version)::api_event_update)`,
      },
      Prisma.sql`change x`,
    )})
    SELECT found, precondition_ok,
           (SELECT new_json::text FROM change) AS body,
           (SELECT version FROM updated) AS version
    FROM checks`;
  return rows[0]!;
}

export type CustomerListQuery = NonNullable<operations['listCustomers']['parameters']['query']>;
type SortKey = NonNullable<CustomerListQuery['sort']> extends `-${infer K}` | infer K ? K : never;

// How each sort key of the contract is read, written into a cursor, and cast back: constant
// SQL, chosen by the key, never text from the request.
type SortKeyReading = { column: Prisma.Sql; text: Prisma.Sql; cast: Prisma.Sql; valid: (k: string) => boolean };
const sortKeys: Record<SortKey, SortKeyReading> = {
  created_at: {
    column: Prisma.raw('c.created_at'),
    text: Prisma.raw('api_timestamp(c.created_at)'),
    cast: Prisma.raw('timestamptz'),
    valid: cursorKeys.timestamp,
  },
  updated_at: {
    column: Prisma.raw('c.updated_at'),
    text: Prisma.raw('api_timestamp(c.updated_at)'),
    cast: Prisma.raw('timestamptz'),
    valid: cursorKeys.timestamp,
  },
  last_name: { column: Prisma.raw('c.last_name'), text: Prisma.raw('c.last_name'), cast: Prisma.raw('text'), valid: cursorKeys.text },
};

export async function listCustomers(sql: Sql, scope: Scope, query: CustomerListQuery): Promise<JsonText<Page<Customer>>> {
  const t = scope.tenantId;
  const limit = query.limit ?? 25;
  const sortParam = query.sort ?? '-created_at';
  const descending = sortParam.startsWith('-');
  const key = sortKeys[sortParam.replace(/^-/, '') as SortKey];
  const cursorScope = ['listCustomers', t, sortParam, query.q, query.email, query.updated_since];
  const position = decodeCursor(query.cursor, cursorScope, key.valid);
  const where: Prisma.Sql[] = [Prisma.sql`c.tenant_id = ${t}::uuid`];
  if (query.email !== undefined) where.push(Prisma.sql`lower(c.email) = lower(${query.email})`);
  if (query.updated_since !== undefined) where.push(Prisma.sql`c.updated_at >= ${query.updated_since}::timestamptz`);
  if (position) {
    // (sort column, id) alone: see listDeals on why the scan then starts at the cursor.
    where.push(Prisma.sql`(${key.column}, c.id) ${Prisma.raw(descending ? '<' : '>')}
      (${position.key}::${key.cast}, ${position.id}::uuid)`);
  }
  const dir = Prisma.raw(descending ? 'DESC' : 'ASC');
  const columns = Prisma.sql`api_customer_json(c)::text AS json, ${key.text} AS sort_key, c.id::text AS id, ${key.column} AS k, c.id AS kid`;
  const order = Prisma.sql`ORDER BY ${key.column} ${dir}, c.id ${dir}`;
  let page: Prisma.Sql;
  if (query.q === undefined) {
    page = Prisma.sql`SELECT ${columns} FROM customers c WHERE ${Prisma.join(where, ' AND ')} ${order} LIMIT ${limit + 1}`;
  } else {
    // PostgreSQL lower-cases both sides (JavaScript's toLowerCase differs on some letters).
    // The trigram index (customers_search_idx) finds candidates by the joined text of the
    // fields; the match keeps only those where one field contains the term, not the joined
    // text across two fields.
    const pattern = Prisma.sql`lower(${likePattern(query.q)})`;
    page = searchedPage(query.q, {
      from: Prisma.sql`customers c`,
      alias: Prisma.sql`c`,
      where,
      candidates: Prisma.sql`api_customer_search_candidates(${t}::uuid, ${pattern})`,
      match: Prisma.sql`(lower(c.last_name) LIKE ${pattern} OR lower(c.first_name) LIKE ${pattern}
        OR lower(c.company) LIKE ${pattern} OR lower(c.email) LIKE ${pattern})`,
      columns,
      order,
      dir,
      limit,
    });
  }
  const rows = await sql.rows<PageRow<Customer>>`${page}`;
  return pageBody(rows, limit, cursorScope);
}
