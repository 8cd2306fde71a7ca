// The change feed (issue #7; docs/design/change-feed/design.md). Writes append their events in
// their own statement (eventInsert, used by deals-write.ts and customers.ts); this file reads
// them back (GET /events, GET /events/{id}) and deletes them after the retention period.
//
// The feed's promise, every event exactly once even when transactions commit out of order,
// rests on one rule: serve only events whose inserting transaction (txid) is below
// pg_snapshot_xmin(pg_current_snapshot()), in (txid, id) order. Every transaction below xmin
// has ended, so those events are final; anything that can still commit has a txid ≥ xmin.
import type { components, operations } from '@deals/api-types';
import type { Scope } from '../auth/scope.ts';
import type { Sql } from '../db/sql.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type { IdGenerator } from '../ids.ts';
import { ApiProblem } from '../problems.ts';
import type { JsonText } from './json-text.ts';
import { cursorKeys, decodeCursor, encodeCursor } from './pagination.ts';

type Schemas = components['schemas'];
export type Event = Schemas['Event'];
export type EventList = Schemas['EventList'];
export type EventType = Schemas['EventType'];

/** Where a change came from: the request's X-Request-Id and the API key's id. */
export type EventOrigin = { requestId: string; apiKeyId: string };

/** What a write needs to append its events: the origin and one id per event, in emission order. */
export type EventStamp = { origin: EventOrigin; ids: readonly string[] };

/**
 * n event ids in emission order. UUIDv7 is random within a millisecond, so they are sorted:
 * a transaction's events share one txid, and (txid, id) must order them as they were emitted.
 * Lower-case hex sorts as the bytes PostgreSQL compares.
 */
export function eventIds(newId: IdGenerator, n: number): string[] {
  return Array.from({ length: n }, () => newId()).sort();
}

/** The nil UUID: the scope of tenant-wide (customer) events in event_horizons, and the id of a bare position. */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** Each part is an SQL expression over the rows of `from`. */
type EventRow = {
  id: Prisma.Sql;
  type: Prisma.Sql;
  tenantId: Prisma.Sql;
  departmentId: Prisma.Sql;
  resourceId: Prisma.Sql;
  version: Prisma.Sql;
  at: Prisma.Sql;
  /** The payload's `data`: an api_event_change or api_event_update as json. */
  data: Prisma.Sql;
};

/** `INSERT INTO events … SELECT …` of one event per row of `from` (a data-modifying CTE's body). */
export function eventInsert(origin: EventOrigin, e: EventRow, from: Prisma.Sql): Prisma.Sql {
  const rid = Prisma.sql`${origin.requestId}::text`;
  const kid = Prisma.sql`${origin.apiKeyId}::uuid`;
  return Prisma.sql`
    INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, request_id, api_key_id, occurred_at, payload)
    SELECT ${e.tenantId}, ${e.id}, ${e.departmentId}, ${e.type}, ${e.resourceId}, ${e.version}, ${rid}, ${kid}, ${e.at},
           api_event_json(${e.id}, ${e.type}, ${e.at}, ${e.data}, ${rid}, ${kid})
    FROM ${from}`;
}

/** The i-th (1-based, SQL expression) of the stamp's ids. */
export const eventIdAt = (stamp: EventStamp, position: Prisma.Sql | number): Prisma.Sql =>
  Prisma.sql`(${stamp.ids}::uuid[])[${typeof position === 'number' ? Prisma.sql`${position}::int` : position}]`;

// ---- reading -------------------------------------------------------------------------------

/** How many events a `types` request reads at most before it answers (like SEARCH_WALK_ROWS). */
export const EVENT_WALK_ROWS = 1000;
// In the statement's text, a constant: the planner sizes the walk's scans by it.
const walkRows = Prisma.raw(String(EVENT_WALK_ROWS));

export type EventListQuery = NonNullable<operations['listEvents']['parameters']['query']>;

const cursorScope = (scope: Scope) => ['listEvents', scope.tenantId, scope.departmentId];

/** A feed position: a txid (decimal xid8) and an event id. */
type FeedPosition = { txid: string; id: string };

const positionCursor = (scope: Scope, p: FeedPosition) => encodeCursor({ key: p.txid, id: p.id }, cursorScope(scope));

const cursorExpired = () =>
  new ApiProblem(
    'cursor-expired',
    'Events after this cursor are older than the retention period and were deleted; resynchronise (start=now, then list).',
  );

type FeedRow = {
  expired: boolean;
  future: boolean;
  walked: number;
  walk_txid: string | null;
  walk_id: string | null;
  txid: string | null;
  id: string | null;
  payload: string | null;
};

/**
 * The events the scope may read, after `from`, below xmin, in (txid, id) order, at most
 * `rows` of them, as the columns `columns` of `e`.
 */
function feedScan(
  scope: Scope,
  from: FeedPosition,
  resourceId: string | undefined,
  columns: Prisma.Sql,
  rows: Prisma.Sql | number,
): Prisma.Sql {
  const { tenantId: t, departmentId: d } = scope;
  const after = Prisma.sql`(e.txid, e.id) > (${from.txid}::xid8, ${from.id}::uuid) AND e.txid < (SELECT xmin FROM horizon)`;
  if (resourceId !== undefined) {
    // events_resource_idx; a resource of another department is filtered out (deal ids are
    // unique in a tenant, so that reads at most that one deal's events).
    return Prisma.sql`
      SELECT ${columns} FROM events e
      WHERE e.tenant_id = ${t}::uuid AND e.resource_id = ${resourceId}::uuid AND ${after}
        AND (e.department_id = ${d}::uuid OR e.department_id IS NULL)
      ORDER BY e.txid, e.id LIMIT ${rows}`;
  }
  // Two ordered scans of the two partial feed indexes, merged: the department's deal events
  // and the tenant's customer events. Other departments' events are outside both ranges.
  return Prisma.sql`
    (SELECT ${columns} FROM events e
     WHERE e.tenant_id = ${t}::uuid AND e.department_id = ${d}::uuid AND ${after}
     ORDER BY e.txid, e.id LIMIT ${rows})
    UNION ALL
    (SELECT ${columns} FROM events e
     WHERE e.tenant_id = ${t}::uuid AND e.department_id IS NULL AND ${after}
     ORDER BY e.txid, e.id LIMIT ${rows})
    ORDER BY txid, id LIMIT ${rows}`;
}

function feedStatement(scope: Scope, from: FeedPosition, limit: number, query: EventListQuery): Prisma.Sql {
  const { tenantId: t, departmentId: d } = scope;
  const types = query.types;
  // Without `types` the walk is the page; with it, a bounded walk whose matching rows are the page.
  const walk =
    types === undefined
      ? Prisma.sql`walk AS (${feedScan(scope, from, query.resource_id, Prisma.sql`e.txid, e.id, e.payload`, limit + 1)}),
        page AS (SELECT txid, id, payload FROM walk)`
      : // The walk reads positions only (index-only scans, merged in order: never a sort of the
        // scope's events); the type is checked on each walked row's primary-key lookup.
        Prisma.sql`walk AS (${feedScan(scope, from, query.resource_id, Prisma.sql`e.txid, e.id`, walkRows)}),
        page AS (
          SELECT w.txid, w.id, e.payload FROM walk w JOIN events e ON e.tenant_id = ${t}::uuid AND e.id = w.id
          WHERE e.type = ANY (${types}::text[])
          ORDER BY w.txid, w.id LIMIT ${limit + 1}
        )`;
  return Prisma.sql`
    WITH horizon AS (
      SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin, pg_snapshot_xmax(pg_current_snapshot()) AS xmax
    ),
    ${walk},
    meta AS (
      SELECT EXISTS (
               SELECT 1 FROM event_horizons h
               WHERE h.tenant_id = ${t}::uuid AND h.scope_id IN (${d}::uuid, ${NIL_UUID}::uuid)
                 AND (h.txid, h.id) > (${from.txid}::xid8, ${from.id}::uuid)
             ) AS expired,
             ${from.txid}::xid8 > (SELECT xmax FROM horizon) AS future,
             (SELECT count(*)::int FROM walk) AS walked,
             last.txid::text AS walk_txid, last.id::text AS walk_id
      FROM (SELECT NULL) one
      LEFT JOIN (SELECT txid, id FROM walk ORDER BY txid DESC, id DESC LIMIT 1) last ON true
    )
    SELECT m.expired, m.future, m.walked, m.walk_txid, m.walk_id, p.txid::text AS txid, p.id::text AS id, p.payload
    FROM meta m LEFT JOIN page p ON true
    ORDER BY p.txid, p.id`;
}

/** The feed position of `start=now`: everything below xmin is before it. */
export async function currentFeedPosition(sql: Sql): Promise<string> {
  const rows = await sql.rows<{ xmin: string }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`;
  return rows[0]!.xmin;
}

/** GET /events: one page of the scope's feed, its body built from the stored payload texts. */
export async function listEvents(sql: Sql, scope: Scope, query: EventListQuery): Promise<JsonText<EventList>> {
  const limit = query.limit ?? 25;
  if (query.cursor !== undefined && query.start !== undefined) {
    throw new ApiProblem('malformed-request', 'Send either start or cursor: a cursor already says where the feed continues.');
  }
  const given = decodeCursor(query.cursor, cursorScope(scope), cursorKeys.xid8);
  if (given === undefined && query.start === 'now') {
    const position = { txid: await currentFeedPosition(sql), id: NIL_UUID };
    return feedBody([], positionCursor(scope, position), false);
  }
  const from = given ? { txid: given.key, id: given.id } : { txid: '0', id: NIL_UUID };
  const rows = await sql.rows<FeedRow>`${feedStatement(scope, from, limit, query)}`;
  const meta = rows[0]!;
  // Only a cursor can be behind the horizon: start=oldest begins at the oldest event kept.
  if (given && (meta.expired || meta.future)) throw cursorExpired();
  const matches = rows.filter((r): r is FeedRow & { txid: string; id: string; payload: string } => r.payload !== null);
  const page = matches.slice(0, limit);
  const lastReturned = page.at(-1);
  const walkFull = query.types !== undefined && meta.walked >= EVENT_WALK_ROWS;
  let next: FeedPosition;
  let hasMore: boolean;
  if (matches.length > limit) {
    next = lastReturned!;
    hasMore = true;
  } else if (query.types !== undefined && meta.walk_txid !== null && meta.walk_id !== null) {
    // The walk read past every match: continue after what it read, matching or not.
    next = { txid: meta.walk_txid, id: meta.walk_id };
    hasMore = walkFull;
  } else {
    next = lastReturned ?? from;
    hasMore = false;
  }
  // Nothing new: the request's own cursor comes back, the same string.
  const cursor = given && next === from ? query.cursor! : positionCursor(scope, next);
  return feedBody(
    page.map((r) => r.payload),
    cursor,
    hasMore,
  );
}

function feedBody(payloads: string[], nextCursor: string, hasMore: boolean): JsonText<EventList> {
  // Stored payloads are Events; joined into the EventList document without parsing them.
  return `{"data":[${payloads.join(',')}],"next_cursor":${JSON.stringify(nextCursor)},"has_more":${hasMore}}` as JsonText<EventList>;
}

/** GET /events/{id}: committed events are readable at once (no xmin bound). */
export async function findEvent(sql: Sql, scope: Scope, eventId: string): Promise<JsonText<Event> | undefined> {
  const rows = await sql.rows<{ payload: JsonText<Event> }>`
    SELECT e.payload FROM events e
    WHERE e.tenant_id = ${scope.tenantId}::uuid AND e.id = ${eventId}::uuid
      AND (e.department_id = ${scope.departmentId}::uuid OR e.department_id IS NULL)`;
  return rows[0]?.payload;
}

// ---- retention -----------------------------------------------------------------------------

/** The smallest UUIDv7 of millisecond `ms`: every event id made before `ms` sorts below it. */
export function firstUuidv7Of(ms: number): string {
  const h = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-7000-8000-000000000000`;
}

/**
 * Deletes events older than `retentionDays`, per tenant, in batches of `batch` by primary key
 * (UUIDv7 ids sort by time: no time index). The same statement raises each scope's horizon to
 * the largest (txid, id) it deleted, so a cursor that had not passed a deleted event gets 410,
 * and deletes the events' webhook deliveries. Returns how many events were deleted.
 */
export async function deleteExpiredEvents(sql: Sql, retentionDays: number, now: Date = new Date(), batch = 5000): Promise<number> {
  const cutoff = firstUuidv7Of(now.getTime() - retentionDays * 86_400_000);
  const tenants = await sql.rows<{ id: string }>`
    SELECT t.id::text AS id FROM tenants t
    WHERE EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = t.id AND e.id < ${cutoff}::uuid)`;
  let total = 0;
  for (const { id: tenantId } of tenants) {
    for (;;) {
      const deleted = await deleteExpiredEventBatch(sql, tenantId, cutoff, batch);
      total += deleted;
      if (deleted < batch) break;
    }
  }
  return total;
}

/** One batch of deleteExpiredEvents: at most `batch` of the tenant's events with ids below `cutoff`. */
export async function deleteExpiredEventBatch(sql: Sql, tenantId: string, cutoff: string, batch: number): Promise<number> {
  const rows = await sql.rows<{ deleted: number }>`
    WITH deleted AS (
      -- The ids as an array: each is then a primary-key lookup (a join with the batch was
      -- planned as a hash join over the whole table).
      DELETE FROM events e
      WHERE e.tenant_id = ${tenantId}::uuid
        AND e.id = ANY (ARRAY(
          SELECT x.id FROM events x
          WHERE x.tenant_id = ${tenantId}::uuid AND x.id < ${cutoff}::uuid
          ORDER BY x.id LIMIT ${batch}
        ))
      RETURNING e.tenant_id, coalesce(e.department_id, ${NIL_UUID}::uuid) AS scope_id, e.txid, e.id
    ),
    raised AS (
      INSERT INTO event_horizons AS h (tenant_id, scope_id, txid, id)
      SELECT DISTINCT ON (scope_id) tenant_id, scope_id, txid, id FROM deleted ORDER BY scope_id, txid DESC, id DESC
      ON CONFLICT (tenant_id, scope_id) DO UPDATE SET txid = excluded.txid, id = excluded.id
        WHERE (excluded.txid, excluded.id) > (h.txid, h.id)
    ),
    -- The delivery log is kept as long as its events (attempts go with it, by cascade); a
    -- delivery still pending for an event this old has been failing for weeks.
    deliveries AS (
      DELETE FROM webhook_deliveries d USING deleted x
      WHERE d.tenant_id = x.tenant_id AND d.event_id = x.id
    )
    SELECT count(*)::int AS deleted FROM deleted`;
  return rows[0]!.deleted;
}
