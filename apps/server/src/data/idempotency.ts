// Idempotency-Key support for single-statement writes. The write, the check for an earlier
// response and the storing of this one are CTEs of ONE statement, so a crash can never leave
// a deal written without its stored response (or the reverse), and the common case costs no
// extra round trip:
// - `idem_lock`: a transaction-scoped advisory lock on (tenant, key). If another request with
//   the key is running, the lock is taken: nothing is written and the caller answers 409.
// - `idem_prior`: the stored response of an earlier request with the key (24 h).
// - `proceed.go`: true only when the write may run (lock held, no earlier response).
// - `idem_store`: stores this response. If a response appeared after this statement's
//   snapshot was taken (a request that finished a moment before), the insert finds the row,
//   updates nothing, and the statement aborts itself, writing nothing; the caller then reads
//   and replays the stored response.
import { createHash } from 'node:crypto';
import type { Sql } from '../db/sql.ts';
import { Prisma } from '../generated/prisma/client.ts';

export type IdempotencyInput = { key: string; requestHash: string };
export type PriorResponse = { request_hash: string; status_code: number; response_body: string; response_headers: Record<string, string> };
export type IdempotencyOutcome = { lock_acquired: boolean; prior: PriorResponse | null };

/**
 * The SQLSTATE (of the API's own class DA, see migration 20261202000100) with which a create
 * aborts itself when a response for its key appeared after its snapshot.
 */
export const IDEMPOTENCY_RACE = { sqlstate: 'DA001', reason: 'idempotency-race' } as const;

/** Same operation, department and body (whatever the key order) give the same hash. */
export function requestHash(operation: string, departmentId: string, body: unknown): string {
  return createHash('sha256')
    .update(`${operation}\n${departmentId}\n${canonicalJson(body)}`)
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// The earlier-response lookups let only the primary key serve them (OFFSET 0 keeps the expiry
// condition out of the scan): with expires_at > now() beside the key, a plan cached while the
// table was young scanned idempotency_records_expires_idx, i.e. every live record, per request.
export function idempotencyCtes(tenantId: string, idem: IdempotencyInput | undefined): Prisma.Sql {
  if (!idem) return Prisma.sql`proceed AS (SELECT true AS go)`;
  return Prisma.sql`
    idem_lock AS (
      SELECT pg_try_advisory_xact_lock(hashtextextended(${tenantId} || ':' || ${idem.key}, 0)) AS got
    ),
    idem_prior AS (
      SELECT request_hash, status_code, response_body, response_headers
      FROM (
        SELECT request_hash, status_code, response_body, response_headers, expires_at
        FROM idempotency_records
        WHERE tenant_id = ${tenantId}::uuid AND key = ${idem.key}
        OFFSET 0
      ) r
      WHERE r.expires_at > now()
    ),
    proceed AS (
      SELECT (SELECT got FROM idem_lock) AND NOT EXISTS (SELECT 1 FROM idem_prior) AS go
    )`;
}

/** `response` names a CTE with one row (body text) when the write succeeded, none otherwise. */
export function idempotencyStore(
  tenantId: string,
  idem: IdempotencyInput | undefined,
  status: number,
  headers: Record<string, string>,
): Prisma.Sql {
  if (!idem) return Prisma.empty;
  return Prisma.sql`,
    idem_store AS (
      INSERT INTO idempotency_records AS r
        (tenant_id, key, request_hash, status_code, response_body, response_headers, created_at, expires_at)
      SELECT ${tenantId}::uuid, ${idem.key}, ${idem.requestHash}, ${status}, response.body,
             ${JSON.stringify(headers)}::jsonb, now(), now() + interval '24 hours'
      FROM response
      ON CONFLICT (tenant_id, key) DO UPDATE
        SET request_hash = excluded.request_hash, status_code = excluded.status_code,
            response_body = excluded.response_body, response_headers = excluded.response_headers,
            created_at = excluded.created_at, expires_at = excluded.expires_at
        WHERE r.expires_at <= now()
      RETURNING 1
    )`;
}

/** Output columns: lock_acquired, prior, and the self-abort described above. */
export function idempotencyColumns(idem: IdempotencyInput | undefined): Prisma.Sql {
  if (!idem) return Prisma.sql`true AS lock_acquired, NULL::json AS prior`;
  return Prisma.sql`
    (SELECT got FROM idem_lock) AS lock_acquired,
    (SELECT row_to_json(p) FROM idem_prior p) AS prior,
    CASE WHEN EXISTS (SELECT 1 FROM response) AND NOT EXISTS (SELECT 1 FROM idem_store)
      THEN api_abort(${IDEMPOTENCY_RACE.sqlstate}, ${IDEMPOTENCY_RACE.reason}) END AS race`;
}

export async function readPriorResponse(sql: Sql, tenantId: string, key: string): Promise<PriorResponse | undefined> {
  const rows = await sql.rows<PriorResponse>`
    SELECT request_hash, status_code, response_body, response_headers
    FROM (SELECT * FROM idempotency_records WHERE tenant_id = ${tenantId}::uuid AND key = ${key} OFFSET 0) r
    WHERE r.expires_at > now()`;
  return rows[0];
}

/**
 * Deletes expired records, at most `batch` per statement so that a large backlog never holds
 * locks or bloats one transaction. Returns how many were deleted.
 */
export async function deleteExpiredIdempotencyRecords(sql: Sql, batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await sql.count`
      DELETE FROM idempotency_records
      WHERE ctid IN (SELECT ctid FROM idempotency_records WHERE expires_at <= now() LIMIT ${batch})`;
    total += deleted;
    if (deleted < batch) return total;
  }
}
