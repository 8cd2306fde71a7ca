// A department's webhook endpoints: one SQL statement per operation, the JSON built by
// PostgreSQL. Signing secrets arrive here sealed (webhooks/secret-box.ts) and leave sealed: no
// statement carries a plaintext secret, so none can show up in a PostgreSQL log either.
import type { components } from '@deals/api-types';
import type { Scope } from '../auth/scope.ts';
import type { Sql } from '../db/sql.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type { JsonText } from './json-text.ts';
import { cursorKeys, decodeCursor, type Page, type PageRow, pageBody } from './pagination.ts';

type Schemas = components['schemas'];
export type WebhookEndpoint = Schemas['WebhookEndpoint'];
export type WebhookEndpointCreate = Schemas['WebhookEndpointCreate'];
export type WebhookEndpointPatch = Schemas['WebhookEndpointPatch'];

/**
 * The endpoint `e` as the API shows it. Secrets never; the previous secret's expiry only
 * while it still signs (after it, the endpoint has one secret again).
 */
const endpointJson = Prisma.sql`json_build_object(
  'id', e.id, 'url', e.url, 'enabled_events', e.enabled_events, 'description', e.description,
  'status', e.status, 'disabled_reason', e.disabled_reason,
  'previous_secret_expires_at', CASE WHEN e.previous_secret_expires_at > now() THEN api_timestamp(e.previous_secret_expires_at) END,
  'created_at', api_timestamp(e.created_at), 'updated_at', api_timestamp(e.updated_at))::text`;

/** The endpoint `endpointId` of the scope's department (another department's is not found). */
const ofDepartment = (scope: Scope, endpointId: string) =>
  Prisma.sql`e.tenant_id = ${scope.tenantId}::uuid AND e.department_id = ${scope.departmentId}::uuid AND e.id = ${endpointId}::uuid`;

export async function insertWebhookEndpoint(
  sql: Sql,
  scope: Scope,
  input: WebhookEndpointCreate,
  id: string,
  sealedSecret: Buffer,
): Promise<{ json: JsonText<WebhookEndpoint> }> {
  const rows = await sql.rows<{ json: JsonText<WebhookEndpoint> }>`
    INSERT INTO webhook_endpoints AS e (tenant_id, id, department_id, url, enabled_events, description, secret, created_at, updated_at)
    VALUES (${scope.tenantId}::uuid, ${id}::uuid, ${scope.departmentId}::uuid, ${input.url}, ${input.enabled_events}::text[],
            ${input.description ?? null}::text, ${sealedSecret}::bytea, now(), now())
    RETURNING ${endpointJson} AS json`;
  return rows[0]!;
}

export async function findWebhookEndpoint(sql: Sql, scope: Scope, endpointId: string): Promise<JsonText<WebhookEndpoint> | undefined> {
  const rows = await sql.rows<{ json: JsonText<WebhookEndpoint> }>`
    SELECT ${endpointJson} AS json FROM webhook_endpoints e WHERE ${ofDepartment(scope, endpointId)}`;
  return rows[0]?.json;
}

/** What signing a request to the endpoint takes: its URL and sealed secrets (the previous one only while it signs). */
export type EndpointSigning = { url: string; secret: Buffer; previous_secret: Buffer | null };

export async function findWebhookEndpointSigning(sql: Sql, scope: Scope, endpointId: string): Promise<EndpointSigning | undefined> {
  const rows = await sql.rows<EndpointSigning>`
    SELECT e.url, e.secret, CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS previous_secret
    FROM webhook_endpoints e WHERE ${ofDepartment(scope, endpointId)}`;
  return rows[0];
}

export type WebhookEndpointListQuery = { limit?: number; cursor?: string };

/** Oldest first, keyset-paginated on (created_at, id). */
export async function listWebhookEndpoints(
  sql: Sql,
  scope: Scope,
  query: WebhookEndpointListQuery,
): Promise<JsonText<Page<WebhookEndpoint>>> {
  const limit = query.limit ?? 25;
  const cursorScope = ['listWebhookEndpoints', scope.tenantId, scope.departmentId];
  const position = decodeCursor(query.cursor, cursorScope, cursorKeys.timestamp);
  // (created_at, id) alone in the keyset row: the scan then starts at the cursor (see listDeals).
  const after = position ? Prisma.sql`AND (e.created_at, e.id) > (${position.key}::timestamptz, ${position.id}::uuid)` : Prisma.empty;
  const rows = await sql.rows<PageRow<WebhookEndpoint>>`
    SELECT ${endpointJson} AS json, api_timestamp(e.created_at) AS sort_key, e.id::text AS id
    FROM webhook_endpoints e
    WHERE e.tenant_id = ${scope.tenantId}::uuid AND e.department_id = ${scope.departmentId}::uuid ${after}
    ORDER BY e.created_at, e.id
    LIMIT ${limit + 1}`;
  return pageBody(rows, limit, cursorScope);
}

/**
 * Changes the fields sent (one statement text for every patch: a field not sent is NULL and
 * keeps its value; `description` is nullable, so it has its own flag). `status: disabled`
 * records why (`manual`, unless it was already disabled for another reason) and fails the
 * endpoint's pending deliveries, as a 410 does (webhook-queue.ts): they show as failed in the
 * log at once and `recover` can queue them again. A delivery being sent right now (a live
 * lease) is left to its worker, which records its attempt and, if it needs a retry, fails it
 * when it next comes due. `status: enabled` clears the reason and the failure streak.
 */
export async function updateWebhookEndpoint(
  sql: Sql,
  scope: Scope,
  endpointId: string,
  patch: WebhookEndpointPatch,
): Promise<JsonText<WebhookEndpoint> | undefined> {
  const status = patch.status ?? null;
  const rows = await sql.rows<{ json: JsonText<WebhookEndpoint> }>`
    WITH updated AS (
      UPDATE webhook_endpoints e
      SET url = coalesce(${patch.url ?? null}::text, e.url),
          enabled_events = coalesce(${patch.enabled_events ?? null}::text[], e.enabled_events),
          description = CASE WHEN ${patch.description !== undefined}::boolean THEN ${patch.description ?? null}::text ELSE e.description END,
          status = coalesce(${status}::text, e.status),
          disabled_reason = CASE ${status}::text WHEN 'enabled' THEN NULL WHEN 'disabled' THEN coalesce(e.disabled_reason, 'manual')
                            ELSE e.disabled_reason END,
          failing_since = CASE WHEN ${status}::text = 'enabled' THEN NULL ELSE e.failing_since END,
          version = e.version + 1,
          updated_at = now()
      WHERE ${ofDepartment(scope, endpointId)}
      RETURNING e.*
    ),
    failed AS (
      UPDATE webhook_deliveries w
      SET status = 'failed', next_attempt_at = NULL, lease_expires_at = NULL, leased_by = NULL, updated_at = now()
      FROM updated u
      WHERE u.status = 'disabled' AND w.tenant_id = u.tenant_id AND w.endpoint_id = u.id AND w.status = 'pending'
        AND (w.lease_expires_at IS NULL OR w.lease_expires_at <= now())
    )
    SELECT ${endpointJson} AS json FROM updated e`;
  return rows[0]?.json;
}

/** Deletes the endpoint; its deliveries and attempts go with it (ON DELETE CASCADE), pending ones included. */
export async function deleteWebhookEndpoint(sql: Sql, scope: Scope, endpointId: string): Promise<boolean> {
  return (await sql.count`DELETE FROM webhook_endpoints e WHERE ${ofDepartment(scope, endpointId)}`) > 0;
}

/**
 * Replaces the secret. With a grace period the current secret becomes the previous one until
 * now + grace (an earlier previous secret is dropped: a rotation during a grace period ends
 * it); with 0 there is no previous secret at all.
 */
export async function rotateWebhookSecret(
  sql: Sql,
  scope: Scope,
  endpointId: string,
  sealedSecret: Buffer,
  gracePeriodSeconds: number,
): Promise<JsonText<WebhookEndpoint> | undefined> {
  const rows = await sql.rows<{ json: JsonText<WebhookEndpoint> }>`
    UPDATE webhook_endpoints e
    SET previous_secret = CASE WHEN ${gracePeriodSeconds}::int > 0 THEN e.secret END,
        previous_secret_expires_at = CASE WHEN ${gracePeriodSeconds}::int > 0 THEN now() + make_interval(secs => ${gracePeriodSeconds}::int) END,
        secret = ${sealedSecret}::bytea,
        version = e.version + 1,
        updated_at = now()
    WHERE ${ofDepartment(scope, endpointId)}
    RETURNING ${endpointJson} AS json`;
  return rows[0]?.json;
}
