import type { Sql } from '../db/sql.ts';

export type ApiKeyGrant = { tenantId: string; apiKeyId: string; revoked: boolean; departmentIds: string[] };

/**
 * Finds a key by the SHA-256 of its secret, with its granted departments, in one round trip.
 * The same statement records last_used_at, at most once a minute per key, so tracking use
 * costs no extra write per request.
 */
export async function findApiKeyGrant(sql: Sql, secretHash: Buffer): Promise<ApiKeyGrant | undefined> {
  const rows = await sql.rows<{ tenant_id: string; id: string; revoked: boolean; department_ids: string[] }>`
    WITH key AS (
      SELECT tenant_id, id, revoked_at FROM api_keys WHERE secret_hash = ${secretHash}
    ),
    touched AS (
      UPDATE api_keys k SET last_used_at = now()
      FROM key
      WHERE k.tenant_id = key.tenant_id AND k.id = key.id AND key.revoked_at IS NULL
        AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
    )
    SELECT key.tenant_id::text, key.id::text, key.revoked_at IS NOT NULL AS revoked,
           ARRAY(SELECT g.department_id::text FROM api_key_departments g
                 WHERE g.tenant_id = key.tenant_id AND g.api_key_id = key.id) AS department_ids
    FROM key`;
  const row = rows[0];
  return row && { tenantId: row.tenant_id, apiKeyId: row.id, revoked: row.revoked, departmentIds: row.department_ids };
}
