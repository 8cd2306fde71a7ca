// The webhook delivery queue (issue #7): turning events into deliveries, claiming due
// deliveries, and recording each attempt's outcome. Every function is ONE statement, so a
// crash between two of them leaves the queue consistent: a claimed delivery whose outcome was
// never recorded becomes due again when its lease runs out (at-least-once).
//
// Time comes from the caller (`now`), never from now(): the worker's clock is injected, so
// tests advance it past a retry's due time instead of sleeping. It is bound as ISO text, as
// every parameter of the data layer is a string, number or array.
import type { Sql } from '../db/sql.ts';

/** NOTIFY channel: new deliveries are due (every worker LISTENs on it). */
export const DELIVERIES_CHANNEL = 'webhook_deliveries';
/** Events turned into deliveries per dispatch statement. */
export const DISPATCH_BATCH = 500;
/**
 * Deliveries of one endpoint that may be leased at once, per unit of its max_concurrency. A
 * worker sends at most max_concurrency of them at a time and queues the rest, so the next
 * ones are at hand when a send ends instead of a claim's round trip later.
 */
export const LEASES_PER_SLOT = 4;

export type Dispatched = { events: number; deliveries: number };

/**
 * Turns the next events (in feed order, only those below the oldest running transaction, so
 * none that commits late is passed over; design.md §c.1) into one pending delivery per matching
 * enabled endpoint, and moves the dispatch position past them. The position's row lock makes
 * one process dispatch at a time: another one skips (SKIP LOCKED) instead of waiting. Deal
 * events go to endpoints of their department, tenant-wide (customer) events to every
 * department's. An endpoint gets the events that occurred after it was created, however late
 * they are dispatched (an open transaction anywhere holds dispatch back); `recover` fetches
 * older ones. `webhook.test` events are sent by the test operation itself, never queued.
 * Wakes every worker (NOTIFY, delivered at commit) when it queued something.
 */
export async function dispatchEvents(sql: Sql, now: Date): Promise<Dispatched> {
  const at = now.toISOString();
  const rows = await sql.rows<Dispatched>`
    WITH waiting AS (
      -- Is there anything to dispatch? Asked without the lock: locking a row takes a
      -- transaction id, and a poll every 200 ms in every process would burn them for nothing.
      SELECT 1 FROM events e, webhook_dispatch_position p
      WHERE p.singleton AND (e.txid, e.id) > (p.txid, p.id) AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
      LIMIT 1
    ),
    position AS (
      SELECT txid, id FROM webhook_dispatch_position WHERE singleton AND EXISTS (SELECT 1 FROM waiting) FOR UPDATE SKIP LOCKED
    ),
    batch AS (
      SELECT e.tenant_id, e.id, e.txid, e.department_id, e.type, e.occurred_at
      FROM events e, position p
      WHERE (e.txid, e.id) > (p.txid, p.id) AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY e.txid, e.id
      LIMIT 500
    ),
    queued AS (
      INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, event_type, status, next_attempt_at, created_at, updated_at)
      SELECT b.tenant_id, api_uuidv7(), w.id, b.id, b.type, 'pending', ${at}::timestamptz, ${at}::timestamptz, ${at}::timestamptz
      FROM batch b
      JOIN webhook_endpoints w ON w.tenant_id = b.tenant_id
      WHERE w.status = 'enabled'
        AND (b.department_id IS NULL OR w.department_id = b.department_id)
        AND w.enabled_events && ARRAY[b.type, '*']
        AND w.created_at <= b.occurred_at
        AND b.type <> 'webhook.test'
        -- recover may have queued it already (an endpoint enabled again before dispatch got here)
        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries x WHERE x.tenant_id = b.tenant_id AND x.event_id = b.id AND x.endpoint_id = w.id)
      ORDER BY b.txid, b.id
      RETURNING 1
    ),
    advanced AS (
      UPDATE webhook_dispatch_position p SET txid = last.txid, id = last.id
      FROM (SELECT txid, id FROM batch ORDER BY txid DESC, id DESC LIMIT 1) last
      WHERE p.singleton
      RETURNING 1
    ),
    woken AS (
      SELECT pg_notify(${DELIVERIES_CHANNEL}, '') FROM (SELECT 1 FROM queued LIMIT 1) q
    )
    SELECT (SELECT count(*)::int FROM batch) AS events,
           (SELECT count(*)::int FROM queued) AS deliveries,
           (SELECT count(*)::int FROM advanced) + (SELECT count(*)::int FROM woken) AS _effects`;
  const row = rows[0];
  return { events: row?.events ?? 0, deliveries: row?.deliveries ?? 0 };
}

/** A claimed delivery, with what sending it needs. Secrets are sealed (webhooks/secret-box.ts). */
export type ClaimedDelivery = {
  tenant_id: string;
  id: string;
  endpoint_id: string;
  event_id: string;
  /** Attempts made before this one. */
  attempt_count: number;
  url: string;
  /** Sends to the endpoint at once, at most. */
  max_concurrency: number;
  secret: Buffer;
  /** The previous secret while its grace period lasts, else null. */
  previous_secret: Buffer | null;
  /** The event exactly as stored: the body sent and signed. */
  payload: string;
};

export type ClaimInput = { now: Date; workerId: string; leaseMs: number; limit: number };

/**
 * Leases up to `limit` due deliveries to `workerId` until now + leaseMs, oldest first (ids are
 * UUIDv7, made in feed order by dispatch). A claimed delivery's
 * next_attempt_at moves to its lease's end: it leaves the due range (later claims do not scan
 * past it), and if its worker dies it is due again exactly when the lease runs out.
 *
 * Per-endpoint concurrency: the deliveries of an endpoint leased right now (by any process:
 * the rows with a live lease, found in the short index range (now, now + lease]) plus the ones
 * taken here stay within LEASES_PER_SLOT × its max_concurrency; the worker sends at most
 * max_concurrency of its own at once. So one process never exceeds max_concurrency, and P
 * processes together send at most min(P, LEASES_PER_SLOT) × max_concurrency at once (two
 * claims at the same instant can each miss the other's leases: briefly more, by at most one
 * claim's worth). An endpoint at its limit is left out of the scan, so its backlog does not
 * hold up other endpoints' deliveries.
 *
 * Due deliveries of a disabled endpoint, or whose event is gone (retention), are marked failed.
 */
export async function claimDeliveries(sql: Sql, input: ClaimInput): Promise<ClaimedDelivery[]> {
  const { workerId, leaseMs, limit } = input;
  const at = input.now.toISOString();
  const leaseUntil = new Date(input.now.getTime() + leaseMs).toISOString();
  return sql.rows<ClaimedDelivery>`
    WITH leased AS (
      SELECT d.tenant_id, d.endpoint_id, count(*)::int AS n
      FROM webhook_deliveries d
      WHERE d.status = 'pending' AND d.next_attempt_at > ${at}::timestamptz AND d.next_attempt_at <= ${leaseUntil}::timestamptz
        AND d.lease_expires_at > ${at}::timestamptz
      GROUP BY d.tenant_id, d.endpoint_id
    ),
    saturated AS (
      SELECT l.tenant_id, l.endpoint_id
      FROM leased l JOIN webhook_endpoints e ON e.tenant_id = l.tenant_id AND e.id = l.endpoint_id
      WHERE l.n >= e.max_concurrency * 4 -- LEASES_PER_SLOT
    ),
    candidates AS (
      SELECT d.tenant_id, d.id, d.endpoint_id, d.event_id, d.next_attempt_at
      FROM webhook_deliveries d
      WHERE d.status = 'pending' AND d.next_attempt_at <= ${at}::timestamptz
        AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= ${at}::timestamptz)
        AND NOT EXISTS (SELECT 1 FROM saturated s WHERE s.tenant_id = d.tenant_id AND s.endpoint_id = d.endpoint_id)
      ORDER BY d.next_attempt_at
      LIMIT ${limit}::int
      FOR UPDATE SKIP LOCKED
    ),
    judged AS (
      SELECT c.tenant_id, c.id, c.next_attempt_at,
             e.status = 'enabled' AND ev.id IS NOT NULL AS sendable,
             row_number() OVER (PARTITION BY c.tenant_id, c.endpoint_id ORDER BY c.next_attempt_at, c.id) AS n,
             e.max_concurrency * 4 - coalesce(l.n, 0) AS room
      FROM candidates c
      JOIN webhook_endpoints e ON e.tenant_id = c.tenant_id AND e.id = c.endpoint_id
      LEFT JOIN events ev ON ev.tenant_id = c.tenant_id AND ev.id = c.event_id
      LEFT JOIN leased l ON l.tenant_id = c.tenant_id AND l.endpoint_id = c.endpoint_id
    ),
    chosen AS (
      SELECT j.tenant_id, j.id FROM judged j
      WHERE j.sendable AND j.n <= j.room
      ORDER BY j.next_attempt_at
      LIMIT ${limit}::int
    ),
    abandoned AS (
      UPDATE webhook_deliveries d
      SET status = 'failed', next_attempt_at = NULL, lease_expires_at = NULL, leased_by = NULL, updated_at = ${at}::timestamptz
      FROM judged j
      WHERE NOT j.sendable AND d.tenant_id = j.tenant_id AND d.id = j.id
    ),
    claimed AS (
      UPDATE webhook_deliveries d
      SET lease_expires_at = ${leaseUntil}::timestamptz, next_attempt_at = ${leaseUntil}::timestamptz, leased_by = ${workerId}
      FROM chosen c
      WHERE d.tenant_id = c.tenant_id AND d.id = c.id
      RETURNING d.tenant_id, d.id, d.endpoint_id, d.event_id, d.attempt_count
    )
    SELECT c.tenant_id, c.id, c.endpoint_id, c.event_id, c.attempt_count, e.url, e.max_concurrency, e.secret,
           CASE WHEN e.previous_secret_expires_at > ${at}::timestamptz THEN e.previous_secret END AS previous_secret,
           ev.payload
    FROM claimed c
    JOIN webhook_endpoints e ON e.tenant_id = c.tenant_id AND e.id = c.endpoint_id
    JOIN events ev ON ev.tenant_id = c.tenant_id AND ev.id = c.event_id
    ORDER BY c.id`;
}

/**
 * What an attempt decided: `succeeded` (2xx), `retry` at nextAttemptAt, `failed` (out of
 * retries), `gone` (410: the delivery fails and the endpoint is disabled).
 */
export type AttemptOutcome = {
  tenant_id: string;
  delivery_id: string;
  endpoint_id: string;
  /** The delivery's attempt_count when it was claimed: the record applies only to that claim. */
  claimed_attempt_count: number;
  attempted_at: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_body: string | null;
  outcome: 'succeeded' | 'retry' | 'failed' | 'gone';
  next_attempt_at: string | null;
};

export type RecordInput = { now: Date; workerId: string; failingDisableAfterMs: number; outcomes: readonly AttemptOutcome[] };

/**
 * Records attempts, several at once: each attempt row and its delivery's new state, and the
 * endpoints' health, in one statement. Only the lease holder records (leased_by and the
 * attempt count it claimed): a delivery whose lease ran out and was claimed by another worker
 * is left to that worker. An endpoint's first failure since its last success sets
 * failing_since; a success clears it; failures for FAILING_DISABLE_AFTER_MS disable it
 * ('failing'), a 410 at once ('gone'). A disabled endpoint's other pending deliveries fail.
 * Returns how many were recorded, and the batch's endpoints that take no more deliveries.
 */
export type Recorded = {
  recorded: number;
  /** Endpoints of the batch that are disabled (by this statement or earlier) or deleted. */
  stopped: { tenant_id: string; endpoint_id: string }[];
};

export async function recordAttempts(sql: Sql, input: RecordInput): Promise<Recorded> {
  const { workerId, failingDisableAfterMs, outcomes } = input;
  const at = input.now.toISOString();
  const rows = await sql.rows<Recorded>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(outcomes)}::jsonb) AS i (
        tenant_id uuid, delivery_id uuid, endpoint_id uuid, claimed_attempt_count int, attempted_at timestamptz, status_code int,
        duration_ms int, error text, response_body text, outcome text, next_attempt_at timestamptz)
    ),
    -- The outcomes this worker may still record: the delivery is still leased to it, for the
    -- attempt it claimed.
    valid AS (
      SELECT i.*
      FROM input i
      JOIN webhook_deliveries d ON d.tenant_id = i.tenant_id AND d.id = i.delivery_id AND d.endpoint_id = i.endpoint_id
      WHERE d.status = 'pending' AND d.leased_by = ${workerId} AND d.attempt_count = i.claimed_attempt_count
    ),
    health AS (
      SELECT v.tenant_id, v.endpoint_id,
             bool_or(v.outcome = 'gone') AS gone,
             max(v.attempted_at) FILTER (WHERE v.outcome = 'succeeded') AS last_success,
             min(v.attempted_at) FILTER (WHERE v.outcome <> 'succeeded') AS first_failure
      FROM valid v GROUP BY v.tenant_id, v.endpoint_id
    ),
    judged AS (
      SELECT f.tenant_id, f.id, f.failing_since,
             CASE WHEN f.gone THEN 'gone'
                  WHEN ${at}::timestamptz - f.failing_since >= ${failingDisableAfterMs}::int * interval '1 millisecond' THEN 'failing'
             END AS disabled_reason
      FROM (
        SELECT e.tenant_id, e.id, h.gone,
               CASE WHEN h.last_success IS NULL THEN coalesce(e.failing_since, h.first_failure)
                    ELSE (SELECT min(v.attempted_at) FROM valid v
                          WHERE v.tenant_id = h.tenant_id AND v.endpoint_id = h.endpoint_id
                            AND v.outcome <> 'succeeded' AND v.attempted_at > h.last_success)
               END AS failing_since
        FROM health h JOIN webhook_endpoints e ON e.tenant_id = h.tenant_id AND e.id = h.endpoint_id
        WHERE e.status = 'enabled'
      ) f
    ),
    endpoints AS (
      -- Disabling changes the endpoint's representation: a new version (its ETag) and updated_at.
      UPDATE webhook_endpoints e
      SET failing_since = j.failing_since,
          status = CASE WHEN j.disabled_reason IS NULL THEN 'enabled' ELSE 'disabled' END,
          disabled_reason = j.disabled_reason,
          version = e.version + (j.disabled_reason IS NOT NULL)::int,
          updated_at = CASE WHEN j.disabled_reason IS NULL THEN e.updated_at ELSE ${at}::timestamptz END
      FROM judged j
      WHERE e.tenant_id = j.tenant_id AND e.id = j.id AND e.status = 'enabled'
        AND (j.disabled_reason IS NOT NULL OR e.failing_since IS DISTINCT FROM j.failing_since)
    ),
    recorded AS (
      -- A retry of an endpoint being disabled here fails instead: nothing more is sent to it.
      UPDATE webhook_deliveries d
      SET status = CASE WHEN v.outcome = 'succeeded' THEN 'succeeded'
                        WHEN v.outcome = 'retry' AND j.disabled_reason IS NULL THEN 'pending'
                        ELSE 'failed' END,
          next_attempt_at = CASE WHEN v.outcome = 'retry' AND j.disabled_reason IS NULL THEN v.next_attempt_at END,
          attempt_count = d.attempt_count + 1,
          lease_expires_at = NULL, leased_by = NULL, updated_at = ${at}::timestamptz
      FROM valid v
      LEFT JOIN judged j ON j.tenant_id = v.tenant_id AND j.id = v.endpoint_id
      WHERE d.tenant_id = v.tenant_id AND d.id = v.delivery_id AND d.status = 'pending'
        AND d.leased_by = ${workerId} AND d.attempt_count = v.claimed_attempt_count
      RETURNING d.tenant_id, d.id, d.attempt_count, v.attempted_at, v.status_code, v.duration_ms, v.error, v.response_body
    ),
    attempts AS (
      INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, attempted_at, status_code, duration_ms, error, response_body)
      SELECT r.tenant_id, r.id, r.attempt_count, r.attempted_at, r.status_code, r.duration_ms, r.error, r.response_body
      FROM recorded r
    ),
    orphaned AS (
      UPDATE webhook_deliveries d
      SET status = 'failed', next_attempt_at = NULL, lease_expires_at = NULL, leased_by = NULL, updated_at = ${at}::timestamptz
      FROM judged j
      WHERE j.disabled_reason IS NOT NULL AND d.tenant_id = j.tenant_id AND d.endpoint_id = j.id AND d.status = 'pending'
        AND NOT EXISTS (SELECT 1 FROM valid v WHERE v.tenant_id = d.tenant_id AND v.delivery_id = d.id)
    ),
    -- Endpoints no longer to be sent to (disabled here or by someone else, or deleted): the
    -- worker drops their deliveries still waiting in its lanes.
    stopped AS (
      SELECT DISTINCT i.tenant_id, i.endpoint_id
      FROM input i
      LEFT JOIN webhook_endpoints e ON e.tenant_id = i.tenant_id AND e.id = i.endpoint_id
      LEFT JOIN judged j ON j.tenant_id = i.tenant_id AND j.id = i.endpoint_id
      WHERE e.id IS NULL OR e.status <> 'enabled' OR j.disabled_reason IS NOT NULL
    )
    SELECT (SELECT count(*)::int FROM recorded) AS recorded,
           (SELECT coalesce(json_agg(json_build_object('tenant_id', s.tenant_id, 'endpoint_id', s.endpoint_id)), '[]') FROM stopped s) AS stopped`;
  return { recorded: rows[0]?.recorded ?? 0, stopped: rows[0]?.stopped ?? [] };
}

/**
 * Gives back leases of deliveries this worker claimed but will not send (it is stopping):
 * due at once for any worker, their attempt count unchanged.
 */
export async function releaseLeases(
  sql: Sql,
  input: { now: Date; workerId: string; deliveries: readonly { tenant_id: string; id: string }[] },
): Promise<number> {
  const { workerId, deliveries } = input;
  const at = input.now.toISOString();
  return sql.count`
    UPDATE webhook_deliveries d
    SET lease_expires_at = NULL, leased_by = NULL, next_attempt_at = ${at}::timestamptz
    FROM unnest(${deliveries.map((d) => d.tenant_id)}::uuid[], ${deliveries.map((d) => d.id)}::uuid[]) AS r (tenant_id, id)
    WHERE d.tenant_id = r.tenant_id AND d.id = r.id AND d.status = 'pending' AND d.leased_by = ${workerId}`;
}
