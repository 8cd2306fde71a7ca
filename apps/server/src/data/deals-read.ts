// Reads of deals: one SQL statement each, the JSON built by PostgreSQL.
import type { Deal, DealStepChange, DealTombstone, operations } from '@deals/api-types';
import type { Scope } from '../auth/scope.ts';
import type { Sql } from '../db/sql.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { ApiProblem } from '../problems.ts';
import { searchedPage } from './bounded-search.ts';
import type { JsonText } from './json-text.ts';
import { cursorKeys, decodeCursor, type Page, type PageRow, pageBody } from './pagination.ts';

/** The linked customers of deal `alias`, in link order, as the API shows them. */
export const dealCustomersJson = (alias: string) => Prisma.sql`(
  SELECT coalesce(json_agg(api_customer_json(c) ORDER BY dc.position), '[]'::json)
  FROM deal_customers dc
  JOIN customers c ON c.tenant_id = dc.tenant_id AND c.id = dc.customer_id
  WHERE dc.tenant_id = ${Prisma.raw(alias)}.tenant_id AND dc.deal_id = ${Prisma.raw(alias)}.id
)`;

/** The employee name of deal `alias` (null when unassigned). */
export const employeeName = (alias: string) => Prisma.sql`(
  SELECT e.first_name || ' ' || e.last_name FROM employees e
  WHERE e.tenant_id = ${Prisma.raw(alias)}.tenant_id AND e.id = ${Prisma.raw(alias)}.employee_id
)`;

const dealJson = Prisma.sql`api_deal_json(d, ${employeeName('d')}, ${dealCustomersJson('d')})::text`;

export async function findDeal(sql: Sql, scope: Scope, dealId: string) {
  const rows = await sql.rows<{ json: JsonText<Deal>; version: number }>`
    SELECT ${dealJson} AS json, d.version
    FROM deals d
    WHERE d.tenant_id = ${scope.tenantId}::uuid AND d.department_id = ${scope.departmentId}::uuid AND d.id = ${dealId}::uuid`;
  return rows[0];
}

export type DealListQuery = NonNullable<operations['listDeals']['parameters']['query']>;
type SortKey = NonNullable<DealListQuery['sort']> extends `-${infer K}` | infer K ? K : never;

// How each sort key of the contract is read, written into a cursor, and cast back.
type SortKeyReading = { column: Prisma.Sql; text: (alias: string) => Prisma.Sql; cast: Prisma.Sql; valid: (k: string) => boolean };
const sortKeys: Record<SortKey, SortKeyReading> = {
  created_at: {
    column: Prisma.raw('created_at'),
    text: (a) => Prisma.raw(`api_timestamp(${a}.created_at)`),
    cast: Prisma.raw('timestamptz'),
    valid: cursorKeys.timestamp,
  },
  updated_at: {
    column: Prisma.raw('updated_at'),
    text: (a) => Prisma.raw(`api_timestamp(${a}.updated_at)`),
    cast: Prisma.raw('timestamptz'),
    valid: cursorKeys.timestamp,
  },
  volume: {
    column: Prisma.raw('volume'),
    text: (a) => Prisma.raw(`${a}.volume::text`),
    cast: Prisma.raw('bigint'),
    valid: cursorKeys.integer,
  },
  name: { column: Prisma.raw('name'), text: (a) => Prisma.raw(`${a}.name`), cast: Prisma.raw('text'), valid: cursorKeys.text },
};

/** `%`, `_` and `\` in a search term are literal characters, not LIKE wildcards. */
export const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function listDeals(sql: Sql, scope: Scope, query: DealListQuery): Promise<JsonText<Page<Deal | DealTombstone>>> {
  const { tenantId: t, departmentId: d } = scope;
  const limit = query.limit ?? 25;
  const sortParam = query.sort ?? '-created_at';
  const descending = sortParam.startsWith('-');
  const key = sortKeys[sortParam.replace(/^-/, '') as SortKey];
  const includeDeleted = query.include_deleted === true;
  if (includeDeleted) {
    const others = (['step_id', 'employee_id', 'customer_id', 'q'] as const).filter((f) => query[f] !== undefined);
    if (!sortParam.endsWith('updated_at') || others.length > 0) {
      throw new ApiProblem(
        'malformed-request',
        'include_deleted=true is for incremental sync: combine it only with updated_since and sort=updated_at or sort=-updated_at.',
      );
    }
  }
  // Everything that shapes the result set, in a fixed order (not the URL's).
  const cursorScope = [
    'listDeals',
    t,
    d,
    sortParam,
    query.step_id,
    query.employee_id,
    query.customer_id,
    query.q,
    query.updated_since,
    includeDeleted,
  ];
  const position = decodeCursor(query.cursor, cursorScope, key.valid);

  const where: Prisma.Sql[] = [Prisma.sql`d.tenant_id = ${t}::uuid`, Prisma.sql`d.department_id = ${d}::uuid`];
  if (query.step_id !== undefined) {
    where.push(Prisma.sql`d.step_id = ${query.step_id}::uuid`);
  }
  if (query.employee_id === 'unassigned') {
    where.push(Prisma.sql`d.employee_id IS NULL`);
  } else if (query.employee_id !== undefined) {
    where.push(Prisma.sql`d.employee_id = ${query.employee_id}::uuid`);
  }
  if (query.customer_id !== undefined) {
    where.push(Prisma.sql`d.id IN (SELECT dc.deal_id FROM deal_customers dc
      WHERE dc.tenant_id = ${t}::uuid AND dc.customer_id = ${query.customer_id}::uuid)`);
  }
  if (query.updated_since !== undefined) where.push(Prisma.sql`d.updated_at >= ${query.updated_since}::timestamptz`);
  const cmp = Prisma.raw(descending ? '<' : '>');
  const dir = Prisma.raw(descending ? 'DESC' : 'ASC');
  // The keyset row is (sort column, id) alone, next to the equality conditions: PostgreSQL
  // then starts the index scan at the cursor. With the equality columns inside the row it
  // starts at the department's edge and reads every entry before the cursor.
  if (position) {
    where.push(Prisma.sql`(d.${key.column}, d.id) ${cmp} (${position.key}::${key.cast}, ${position.id}::uuid)`);
  }
  const columns = Prisma.sql`${dealJson} AS json, ${key.text('d')} AS sort_key, d.id::text AS id, d.${key.column} AS k, d.id AS kid`;
  const order = Prisma.sql`ORDER BY d.${key.column} ${dir}, d.id ${dir}`;
  const deals =
    query.q === undefined
      ? Prisma.sql`SELECT ${columns} FROM deals d WHERE ${Prisma.join(where, ' AND ')} ${order} LIMIT ${limit + 1}`
      : searchedPage(query.q, {
          from: Prisma.sql`deals d`,
          alias: Prisma.sql`d`,
          where,
          candidates: Prisma.sql`api_deal_search_candidates(${t}::uuid, ${d}::uuid, ${likePattern(query.q)})`,
          match: Prisma.sql`d.name ILIKE ${likePattern(query.q)}`,
          columns,
          order,
          dir,
          limit,
        });

  let rows: PageRow<Deal | DealTombstone>[];
  if (!includeDeleted) {
    rows = await sql.rows<PageRow<Deal>>`${deals}`;
  } else {
    const tombstoneWhere: Prisma.Sql[] = [Prisma.sql`t.tenant_id = ${t}::uuid`, Prisma.sql`t.department_id = ${d}::uuid`];
    if (query.updated_since !== undefined) tombstoneWhere.push(Prisma.sql`t.deleted_at >= ${query.updated_since}::timestamptz`);
    if (position) {
      tombstoneWhere.push(Prisma.sql`(t.deleted_at, t.id) ${cmp} (${position.key}::timestamptz, ${position.id}::uuid)`);
    }
    rows = await sql.rows<PageRow<Deal | DealTombstone>>`
      SELECT json, sort_key, id FROM (
        (${deals})
        UNION ALL
        (SELECT (SELECT row_to_json(r) FROM (SELECT t.id, api_timestamp(t.deleted_at) AS deleted_at) r)::text AS json,
                api_timestamp(t.deleted_at) AS sort_key, t.id::text AS id, t.deleted_at AS k, t.id AS kid
         FROM deal_tombstones t
         WHERE ${Prisma.join(tombstoneWhere, ' AND ')}
         ORDER BY t.deleted_at ${dir}, t.id ${dir}
         LIMIT ${limit + 1})
      ) page
      ORDER BY k ${dir}, kid ${dir}
      LIMIT ${limit + 1}`;
  }
  return pageBody(rows, limit, cursorScope);
}

export type StepChangeListQuery = NonNullable<operations['listDealStepChanges']['parameters']['query']>;

/** undefined when the deal is not in this department. */
export async function listDealStepChanges(
  sql: Sql,
  scope: Scope,
  dealId: string,
  query: StepChangeListQuery,
): Promise<JsonText<Page<DealStepChange>> | undefined> {
  const { tenantId: t, departmentId: d } = scope;
  const limit = query.limit ?? 25;
  const cursorScope = ['listDealStepChanges', t, d, dealId];
  const position = decodeCursor(query.cursor, cursorScope, cursorKeys.timestamp);
  const after = position ? Prisma.sql`AND (sc.changed_at, sc.id) > (${position.key}::timestamptz, ${position.id}::uuid)` : Prisma.empty;
  const rows = await sql.rows<PageRow<DealStepChange> | { json: null; sort_key: null; id: null }>`
    SELECT c.json, c.sort_key, c.id
    FROM deals d
    LEFT JOIN LATERAL (
      SELECT row_to_json(r)::text AS json,
             api_timestamp(sc.changed_at) AS sort_key, sc.id::text AS id
      FROM deal_step_changes sc,
           LATERAL (SELECT sc.id, sc.deal_id, sc.from_step_id, sc.to_step_id, api_timestamp(sc.changed_at) AS changed_at) r
      WHERE sc.tenant_id = d.tenant_id AND sc.deal_id = d.id ${after}
      ORDER BY sc.changed_at, sc.id
      LIMIT ${limit + 1}
    ) c ON true
    WHERE d.tenant_id = ${t}::uuid AND d.department_id = ${d}::uuid AND d.id = ${dealId}::uuid`;
  if (rows.length === 0) return undefined;
  return pageBody(
    rows.filter((r): r is PageRow<DealStepChange> => r.json !== null),
    limit,
    cursorScope,
  );
}
