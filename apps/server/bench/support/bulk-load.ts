// Set-based loading of many deals, used by `npm run bench:scale` and by the query-plan test.
// One INSERT … SELECT statement per chunk writes the customers, deals, links and step changes
// together, with every id generated in SQL (UUIDv7 from the row's timestamp) and every
// constraint, index and foreign key of the real tables in force.
//
// Deals of a department are numbered 1..size. Number n is created at
// from + (n - 1) / (size - 1) × (to − from), so loading a subset (say every 100th number) and
// later the rest gives a department whose time spread, steps, employees, names and shared
// customer are distributed the same way at every size. Attributes come from hashes of n
// (hashint8extended), so a load is repeatable apart from the ids' random bits.

/** Anything with pg's `query(text, values)`: a Pool, a PoolClient or a Client. */
export type Queryable = { query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }> };

export type DepartmentSpace = {
  tenantId: string;
  departmentId: string;
  stepIds: string[];
  employeeIds: string[];
  /** Deal numbers run from 1 to size. */
  size: number;
  /** created_at of deal 1 and of deal `size`. */
  from: Date;
  to: Date;
  /** Linked as the second customer of every deal whose number is a multiple of sharedEvery. */
  sharedCustomerId?: string;
  /** Default SHARED_EVERY (5,000). */
  sharedEvery?: number;
};

/**
 * A UUIDv7 (RFC 9562) from a timestamptz expression: 48 bits of Unix milliseconds, then the
 * random bits of a v4 UUID with its version nibble turned from 4 (0100) into 7 (0111) by
 * setting bits 52 and 53 (set_bit counts from the least significant bit of the first byte).
 * The variant bits (10) of the v4 UUID are already right. PostgreSQL 18 has uuidv7(), but
 * BENCH_DATABASE_URL may name an older server.
 */
export const uuidv7Sql = (ts: string) =>
  `encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING ` +
  `substring(int8send(floor(extract(epoch FROM ${ts}) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid`;

/** Every deal whose name contains this word (1 % of them) matches `q=globex`. */
export const SEARCH_WORD = 'Globex';
/** By default, deals whose number is a multiple of this link the shared customer. */
export const SHARED_EVERY = 5_000;

// No word below shares a trigram with "globex", so `q=globex` finds exactly the 1 %.
const companies = [
  'Acme',
  'Initech',
  'Umbrella',
  'Hooli',
  'Stark',
  'Wayne',
  'Wonka',
  'Tyrell',
  'Cyberdyne',
  'Soylent',
  'Vandelay',
  'Dunder',
  'Oceanic',
  'Monarch',
  'Aperture',
  'Pied Piper',
  'Prestige',
  'Sterling',
  'Nakatomi',
  'Virtucon',
];
const kinds = ['Renewal', 'Expansion', 'Pilot', 'Upgrade', 'License', 'Support', 'Migration', 'Rollout'];
const firstNames = ['John', 'Jane', 'Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Edsger'];
const lastNames = ['Doe', 'Smith', 'Miller', 'Meyer', 'Schmidt', 'Fischer', 'Weber', 'Wagner', 'Becker', 'Hoffmann', 'Keller', 'Richter'];

/** A customer of the tenant that many deals link (for the customer_id filter). */
export async function createSharedCustomer(db: Queryable, tenantId: string, company: string): Promise<string> {
  const { rows } = await db.query(
    `INSERT INTO customers (tenant_id, id, company, first_name, last_name, email)
     VALUES ($1, ${uuidv7Sql('now()')}, $2, 'Shared', 'Customer', lower($2) || '@example.com')
     RETURNING id::text`,
    [tenantId, company],
  );
  return rows[0].id as string;
}

/**
 * Loads the deals numbered first..last of the department (those for which `where`, an SQL
 * condition on n, holds), each with 2 customers (the second the shared customer every
 * SHARED_EVERY deals), both links and its first step change. Returns the number of deals.
 */
export async function loadDeals(
  db: Queryable,
  space: DepartmentSpace,
  range: { first: number; last: number; where?: string },
): Promise<number> {
  const stepSeconds = space.size > 1 ? (space.to.getTime() - space.from.getTime()) / 1000 / (space.size - 1) : 0;
  const employees = space.employeeIds.length;
  const { rows } = await db.query(
    `WITH src AS MATERIALIZED (
       SELECT n, ts, h1, h2, h3, h4, h5,
              ${uuidv7Sql('ts')} AS deal_id, ${uuidv7Sql('ts')} AS c1_id, ${uuidv7Sql('ts')} AS c2_id,
              ${uuidv7Sql('ts')} AS step_change_id,
              $9::uuid IS NOT NULL AND n % ${space.sharedEvery ?? SHARED_EVERY} = 0 AS shared
       FROM generate_series($3::bigint, $4::bigint) AS n,
            LATERAL (SELECT $5::timestamptz + (n - 1) * $6::float8 * interval '1 second' AS ts,
                            abs(hashint8extended(n, 1)) AS h1, abs(hashint8extended(n, 2)) AS h2,
                            abs(hashint8extended(n, 3)) AS h3, abs(hashint8extended(n, 4)) AS h4,
                            abs(hashint8extended(n, 5)) AS h5) x
       WHERE ${range.where ?? 'true'}
     ),
     first_customers AS (
       INSERT INTO customers (tenant_id, id, company, first_name, last_name, email, created_at, updated_at)
       SELECT $1::uuid, c1_id, CASE WHEN h4 % 3 = 0 THEN ($12::text[])[1 + h4 % cardinality($12::text[])] END,
              ($10::text[])[1 + h1 % cardinality($10::text[])], ($11::text[])[1 + h2 % cardinality($11::text[])],
              'c' || n || '.a@example.com', ts, ts
       FROM src
     ),
     second_customers AS (
       INSERT INTO customers (tenant_id, id, first_name, last_name, email, created_at, updated_at)
       SELECT $1::uuid, c2_id, ($10::text[])[1 + h3 % cardinality($10::text[])], ($11::text[])[1 + h5 % cardinality($11::text[])],
              'c' || n || '.b@example.com', ts, ts
       FROM src WHERE NOT shared
     ),
     new_deals AS (
       INSERT INTO deals (tenant_id, id, department_id, step_id, employee_id, name, volume, note, created_at, updated_at)
       SELECT $1::uuid, deal_id, $2::uuid,
              ($7::uuid[])[1 + h1 % cardinality($7::uuid[])],
              CASE WHEN h2 % ${employees + 1} < ${employees} THEN ($8::uuid[])[1 + h2 % ${employees + 1}] END,
              CASE WHEN h3 % 100 = 0 THEN '${SEARCH_WORD}' ELSE ($12::text[])[1 + h3 % cardinality($12::text[])] END
                || ' ' || ($13::text[])[1 + h4 % cardinality($13::text[])] || ' #' || n,
              h4 % 1000000, CASE WHEN h5 % 10 = 0 THEN 'Call back after the trade fair' END,
              ts, least(ts + (h5 % 2592000) * interval '1 second', now())
       FROM src
     ),
     links AS (
       INSERT INTO deal_customers (tenant_id, deal_id, customer_id, position)
       SELECT $1::uuid, deal_id, c1_id, 1 FROM src
       UNION ALL
       SELECT $1::uuid, deal_id, CASE WHEN shared THEN $9::uuid ELSE c2_id END, 2 FROM src
     ),
     step_changes AS (
       INSERT INTO deal_step_changes (tenant_id, id, deal_id, from_step_id, to_step_id, changed_at)
       SELECT $1::uuid, step_change_id, deal_id, NULL, ($7::uuid[])[1 + h1 % cardinality($7::uuid[])], ts FROM src
     )
     SELECT count(*)::int AS n FROM src`,
    [
      space.tenantId,
      space.departmentId,
      range.first,
      range.last,
      space.from,
      stepSeconds,
      space.stepIds,
      space.employeeIds,
      space.sharedCustomerId ?? null,
      firstNames,
      lastNames,
      companies,
      kinds,
    ],
  );
  return rows[0].n as number;
}

/**
 * `count` customers of the tenant that no deal links (a tenant that only keeps contacts),
 * named from the same lists as the deals' customers, created over from..to.
 */
export async function loadCustomers(db: Queryable, tenantId: string, count: number, span: { from: Date; to: Date }): Promise<void> {
  await db.query(
    `INSERT INTO customers (tenant_id, id, company, first_name, last_name, email, created_at, updated_at)
     SELECT $1::uuid, ${uuidv7Sql('ts')}, CASE WHEN h1 % 3 = 0 THEN ($6::text[])[1 + h1 % cardinality($6::text[])] END,
            ($4::text[])[1 + h2 % cardinality($4::text[])], ($5::text[])[1 + h3 % cardinality($5::text[])],
            'contact' || i || '@example.com', ts, ts
     FROM generate_series(1, $2::int) AS i,
          LATERAL (SELECT $3::timestamptz + (i - 1) * ($7::timestamptz - $3::timestamptz) / greatest($2::int - 1, 1) AS ts,
                          abs(hashint8extended(i, 11)) AS h1, abs(hashint8extended(i, 12)) AS h2,
                          abs(hashint8extended(i, 13)) AS h3) x`,
    [tenantId, count, span.from, firstNames, lastNames, companies, span.to],
  );
}

/** `count` tombstones of deleted deals of the department, deleted_at spread over from..to. */
export async function loadTombstones(db: Queryable, space: DepartmentSpace, count: number): Promise<void> {
  await db.query(
    `INSERT INTO deal_tombstones (tenant_id, id, department_id, deleted_at)
     SELECT $1::uuid, ${uuidv7Sql('ts')}, $2::uuid, ts
     FROM generate_series(1, $3::int) AS i,
          LATERAL (SELECT $4::timestamptz + (i - 1) * ($5::timestamptz - $4::timestamptz) / greatest($3::int - 1, 1) AS ts) x`,
    [space.tenantId, space.departmentId, count, space.from, space.to],
  );
}
