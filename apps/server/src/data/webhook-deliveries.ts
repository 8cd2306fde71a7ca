// The delivery log of a webhook endpoint and the two ways to queue deliveries by hand:
// redeliver one event, recover a window. One statement each; the worker (webhooks/worker,
// data/webhook-queue.ts) sends what they queue.
import type { components } from '@deals/api-types';
import type { Scope } from '../auth/scope.ts';
import type { Sql } from '../db/sql.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type { JsonText } from './json-text.ts';
import { cursorKeys, decodeCursor, type Page, type PageRow, pageBody } from './pagination.ts';
import { DELIVERIES_CHANNEL } from './webhook-queue.ts';

type Schemas = components['schemas'];
export type WebhookDelivery = Schemas['WebhookDelivery'];
export type DeliveryStatus = Schemas['DeliveryStatus'];

// The contract caps a delivery's attempts at 20. The worker's schedule makes at most 10 per
// delivery (recover queues a new delivery rather than adding attempts to a failed one), so
// the cap only guards a schedule that grows: then the latest 20 are shown.
const ATTEMPTS_SHOWN = 20;

/** The delivery `w` as the API shows it, with its attempts, oldest first. */
const deliveryJson = Prisma.sql`json_build_object(
  'id', w.id, 'event_id', w.event_id, 'event_type', w.event_type, 'status', w.status,
  'next_attempt_at', api_timestamp(w.next_attempt_at), 'created_at', api_timestamp(w.created_at),
  'attempts', (
    SELECT coalesce(json_agg(json_build_object(
             'attempted_at', api_timestamp(a.attempted_at), 'status_code', a.status_code, 'duration_ms', a.duration_ms,
             'error', a.error, 'response_body', a.response_body) ORDER BY a.attempt), '[]'::json)
    FROM (SELECT * FROM webhook_attempts a WHERE a.tenant_id = w.tenant_id AND a.delivery_id = w.id
          ORDER BY a.attempt DESC LIMIT ${ATTEMPTS_SHOWN}) a))::text`;

export type DeliveryListQuery = { limit?: number; cursor?: string; status?: DeliveryStatus; event_id?: string };

/**
 * The endpoint's deliveries, newest first, each with its attempts. Undefined when the
 * department has no such endpoint. The endpoint is read in the same statement: it yields one
 * row even when the page is empty, so no rows at all means not found.
 */
export async function listWebhookDeliveries(
  sql: Sql,
  scope: Scope,
  endpointId: string,
  query: DeliveryListQuery,
): Promise<JsonText<Page<WebhookDelivery>> | undefined> {
  const limit = query.limit ?? 25;
  const cursorScope = ['listWebhookDeliveries', scope.tenantId, scope.departmentId, endpointId, query.status, query.event_id];
  const position = decodeCursor(query.cursor, cursorScope, cursorKeys.timestamp);
  const where: Prisma.Sql[] = [Prisma.sql`w.tenant_id = e.tenant_id AND w.endpoint_id = e.id`];
  if (query.status !== undefined) where.push(Prisma.sql`w.status = ${query.status}::text`);
  if (query.event_id !== undefined) where.push(Prisma.sql`w.event_id = ${query.event_id}::uuid`);
  if (position) where.push(Prisma.sql`(w.created_at, w.id) < (${position.key}::timestamptz, ${position.id}::uuid)`);
  const rows = await sql.rows<PageRow<WebhookDelivery> | { json: null; sort_key: null; id: null }>`
    SELECT p.json, p.sort_key, p.id
    FROM webhook_endpoints e
    LEFT JOIN LATERAL (
      SELECT ${deliveryJson} AS json, api_timestamp(w.created_at) AS sort_key, w.id::text AS id
      FROM webhook_deliveries w
      WHERE ${Prisma.join(where, ' AND ')}
      ORDER BY w.created_at DESC, w.id DESC
      LIMIT ${limit + 1}
    ) p ON true
    WHERE e.tenant_id = ${scope.tenantId}::uuid AND e.department_id = ${scope.departmentId}::uuid AND e.id = ${endpointId}::uuid`;
  if (rows.length === 0) return undefined;
  return pageBody(
    rows.filter((r): r is PageRow<WebhookDelivery> => r.id !== null),
    limit,
    cursorScope,
  );
}

export type RedeliverResult = {
  event_found: boolean;
  endpoint_found: boolean;
  /** The endpoint's disabled_reason when it is disabled (nothing was queued). */
  disabled_reason: string | null;
  /** The queued delivery; null when something above stopped it. */
  json: JsonText<WebhookDelivery> | null;
};

/**
 * Queues one more delivery of an event the department can see (its own deal events, the
 * tenant's customer events) to one of the department's enabled endpoints, due now, and wakes
 * every worker (NOTIFY at commit; the channel of data/webhook-queue.ts). The event's earlier
 * deliveries stay as they are: receivers drop a repeat by webhook-id.
 */
export async function redeliverEvent(
  sql: Sql,
  scope: Scope,
  eventId: string,
  endpointId: string,
  deliveryId: string,
): Promise<RedeliverResult> {
  const t = scope.tenantId;
  const rows = await sql.rows<RedeliverResult>`
    WITH event AS (
      SELECT ev.tenant_id, ev.id, ev.type FROM events ev
      WHERE ev.tenant_id = ${t}::uuid AND ev.id = ${eventId}::uuid
        AND (ev.department_id = ${scope.departmentId}::uuid OR ev.department_id IS NULL)
    ),
    endpoint AS (
      SELECT e.id, e.status, e.disabled_reason FROM webhook_endpoints e
      WHERE e.tenant_id = ${t}::uuid AND e.department_id = ${scope.departmentId}::uuid AND e.id = ${endpointId}::uuid
    ),
    queued AS (
      INSERT INTO webhook_deliveries AS w (tenant_id, id, endpoint_id, event_id, event_type, status, next_attempt_at, created_at, updated_at)
      SELECT ev.tenant_id, ${deliveryId}::uuid, p.id, ev.id, ev.type, 'pending', now(), now(), now()
      FROM event ev, endpoint p WHERE p.status = 'enabled'
      RETURNING w.*
    ),
    woken AS (SELECT pg_notify(${DELIVERIES_CHANNEL}, '') FROM queued)
    SELECT EXISTS (SELECT 1 FROM event) AS event_found, EXISTS (SELECT 1 FROM endpoint) AS endpoint_found,
           (SELECT disabled_reason FROM endpoint) AS disabled_reason,
           (SELECT ${deliveryJson} FROM queued w) AS json,
           (SELECT count(*) FROM woken) AS _woken`;
  return rows[0]!;
}

export type RecoverWindow = {
  since: string;
  /** Absent: now. */
  until: string | undefined;
};

export type RecoverResult = { endpoint_found: boolean; requeued: number; created: number };

/** How far an event's id (UUIDv7, from the server's clock) may be from its occurred_at (the database's clock). */
const CLOCK_SLACK_MS = 3_600_000;

/** The smallest UUIDv7 of millisecond `ms`: ids compare as bytes, and the first 48 bits are the time. */
export function uuidv7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/**
 * For the events of the endpoint's scope that occurred in [since, until) (until: now):
 * - every FAILED delivery to the endpoint is superseded: marked `cancelled` (the contract's
 *   meaning of it) and a new pending delivery of the same event is queued, due now. A new row
 *   rather than the old one back to pending: it gets the whole retry schedule again, and its
 *   attempts number from 1 (they are keyed by number) so the log shows each try apart. All
 *   of them, as the contract says, even of a type the endpoint no longer subscribes to;
 * - every event of a type it subscribes to now with NO delivery to the endpoint (it was
 *   disabled, or created later) gets one.
 * The endpoint is enabled if it was not. Events are found through the primary key by time: the
 * ids are UUIDv7, so [since, until) is a key range (widened by CLOCK_SLACK_MS for the
 * difference between the clock that made the id and the one that stamped occurred_at), then
 * filtered on occurred_at. An event the dispatcher has not reached yet may get a delivery here
 * and another one from the dispatcher: at least once, receivers drop the repeat by webhook-id.
 */
export async function recoverWebhookEndpoint(
  sql: Sql,
  scope: Scope,
  endpointId: string,
  window: RecoverWindow,
  nowMs: number = Date.now(),
): Promise<RecoverResult> {
  const t = scope.tenantId;
  const lowId = uuidv7Floor(Date.parse(window.since) - CLOCK_SLACK_MS);
  const highId = uuidv7Floor((window.until === undefined ? nowMs : Date.parse(window.until)) + CLOCK_SLACK_MS + 1);
  const rows = await sql.rows<RecoverResult>`
    WITH endpoint AS (
      SELECT e.tenant_id, e.id, e.enabled_events FROM webhook_endpoints e
      WHERE e.tenant_id = ${t}::uuid AND e.department_id = ${scope.departmentId}::uuid AND e.id = ${endpointId}::uuid
      FOR UPDATE
    ),
    window_events AS (
      SELECT ev.tenant_id, ev.id, ev.type FROM events ev
      WHERE ev.tenant_id = ${t}::uuid AND ev.id >= ${lowId}::uuid AND ev.id < ${highId}::uuid
        AND ev.occurred_at >= ${window.since}::timestamptz AND ev.occurred_at < coalesce(${window.until ?? null}::timestamptz, now())
        AND (ev.department_id = ${scope.departmentId}::uuid OR ev.department_id IS NULL)
    ),
    superseded AS (
      UPDATE webhook_deliveries w SET status = 'cancelled', updated_at = now()
      FROM endpoint p, window_events ev
      WHERE w.tenant_id = p.tenant_id AND w.endpoint_id = p.id AND w.status = 'failed'
        AND w.event_id = ev.id AND w.created_at >= ${window.since}::timestamptz - make_interval(secs => ${CLOCK_SLACK_MS / 1000})
      RETURNING w.event_id
    ),
    missed AS (
      SELECT ev.id FROM window_events ev, endpoint p
      WHERE p.enabled_events && ARRAY[ev.type, '*']
        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.tenant_id = ev.tenant_id AND w.event_id = ev.id AND w.endpoint_id = p.id)
    ),
    queued AS (
      INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, event_type, status, next_attempt_at, created_at, updated_at)
      SELECT ev.tenant_id, api_uuidv7(), p.id, ev.id, ev.type, 'pending', now(), now(), now()
      FROM (SELECT event_id FROM superseded UNION SELECT id FROM missed) q
      JOIN window_events ev ON ev.id = q.event_id, endpoint p
      ORDER BY ev.id
      RETURNING 1
    ),
    enabled AS (
      UPDATE webhook_endpoints e
      SET status = 'enabled', disabled_reason = NULL, failing_since = NULL, version = e.version + 1, updated_at = now()
      WHERE e.tenant_id = ${t}::uuid AND e.department_id = ${scope.departmentId}::uuid AND e.id = ${endpointId}::uuid
        AND e.status = 'disabled'
      RETURNING 1
    ),
    woken AS (SELECT pg_notify(${DELIVERIES_CHANNEL}, '') FROM (SELECT 1 FROM queued LIMIT 1) q)
    SELECT EXISTS (SELECT 1 FROM endpoint) AS endpoint_found,
           (SELECT count(DISTINCT event_id)::int FROM superseded) AS requeued,
           (SELECT count(*)::int FROM missed) AS created,
           (SELECT count(*) FROM enabled) + (SELECT count(*) FROM woken) AS _effects`;
  return rows[0]!;
}
