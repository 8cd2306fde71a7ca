// The feed's central promise under the scenario (design.md §e): a PATCH waits behind a
// lock another connection holds for 2–3 s, a later write commits meanwhile, and still every
// follower of GET /events sees every event exactly once, and mirrors built by the documented
// recipe end equal to the API. Two variants, each for a deal and for a customer:
// - L (the case): the holder has the row FOR UPDATE; the PATCH waits before it has a
//   transaction id. The old updated_since recipe misses it: the case bites.
// - X: the PATCH already holds a transaction id while it waits, so it commits with a txid
//   OLDER than the later write's. A feed without the xmin bound misses it: the test bites.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/ids.ts';
import type { Reply } from '../support/http.ts';
import { useWorld } from '../support/world.ts';
import { etagNumber, type FeedEvent, follow, nowCursor, readAll } from './feed.ts';
import { listAll, Mirror } from './mirror.ts';

// The next ids the server's newId hands out, before its own (X-customer pins an event id).
const pinnedIds: string[] = [];
const t = useWorld({ newId: () => pinnedIds.shift() ?? uuidv7() });

const HOLD_MS = 2000;
const WAIT_DEADLINE_MS = 15_000;

let observer: pg.Client;
let holder: pg.Client | undefined;

beforeAll(async () => {
  observer = new pg.Client({ connectionString: t.server.database.url });
  await observer.connect();
});
afterEach(async () => {
  await holder?.end().catch(() => undefined);
  holder = undefined;
});
afterAll(async () => {
  await observer?.end();
});

/** Waits (for the state, not a time) until a server connection waits on a lock; its backend_xid. */
async function blockedPatch(): Promise<{ xid: string | null }> {
  const deadline = Date.now() + WAIT_DEADLINE_MS;
  for (;;) {
    const { rows } = await observer.query(
      `SELECT backend_xid::text AS xid FROM pg_stat_activity
       WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    if (rows.length === 1) return rows[0];
    if (Date.now() > deadline) throw new Error('the PATCH never waited on the lock');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The old recipe: the items with updated_at ≥ the watermark, sorted by updated_at. */
async function updatedSince(path: string, watermark: string): Promise<any[]> {
  return listAll(t.call, `${path}?sort=updated_at&updated_since=${encodeURIComponent(watermark)}`);
}

/** The events of the feed (SQL, no HTTP) WITHOUT the xmin bound: what a naive feed would serve. */
async function naiveFeed(after: { txid: string; id: string }) {
  const { rows } = await observer.query(
    `SELECT txid::text, id::text, type, resource_id::text, resource_version FROM events
     WHERE tenant_id = $1 AND (department_id = $2 OR department_id IS NULL) AND (txid, id) > ($3::xid8, $4::uuid)
     ORDER BY txid, id`,
    [t.world.tenant.tenant_id, t.world.department.id, after.txid, after.id],
  );
  return rows as { txid: string; id: string; type: string; resource_id: string; resource_version: number }[];
}

async function lastEventPosition(): Promise<{ txid: string; id: string }> {
  const { rows } = await observer.query(`SELECT txid::text, id::text FROM events ORDER BY txid DESC, id DESC LIMIT 1`);
  return rows[0] ?? { txid: '0', id: '00000000-0000-0000-0000-000000000000' };
}

const isEventOf = (resourceId: string, version: number, type: string) => (e: FeedEvent) =>
  e.type === type && e.data.object.id === resourceId && e.data.version === version;

type Case = { resource: 'deal' | 'customer'; variant: 'L' | 'X' };

async function run({ resource, variant }: Case) {
  // 1. Deal A with customer C, and customer D (unlinked); a follower drains; M1 bootstraps.
  const follower = { cursor: await nowCursor(t.call), events: [] as FeedEvent[] };
  const c = (await t.call('POST', '/customers', { body: { last_name: `C ${resource} ${variant}` } })).json;
  const d = (await t.call('POST', '/customers', { body: { last_name: `D ${resource} ${variant}` } })).json;
  const a = (await t.call('POST', '/deals', { body: { name: `A ${resource} ${variant}`, customer_ids: [c.id] } })).json;
  const drained = await follow(t.call, follower.cursor, (served) => served.some(isEventOf(a.id, 1, 'deal.created')));
  follower.events.push(...drained.events);
  follower.cursor = drained.cursor;
  const m1 = new Mirror(t.call);
  await m1.bootstrap();
  const naiveFrom = await lastEventPosition();

  // 2. The holder takes the lock and keeps it at least HOLD_MS.
  holder = new pg.Client({ connectionString: t.server.database.url });
  await holder.connect();
  await holder.query('BEGIN');
  const patchPath = resource === 'deal' ? `/deals/${a.id}` : `/customers/${c.id}`;
  let patchBody: Record<string, unknown>;
  const patchRequestId = `held-lock-${uuidv7()}`;
  if (variant === 'L') {
    await holder.query(`SELECT 1 FROM ${resource === 'deal' ? 'deals' : 'customers'} WHERE id = $1 FOR UPDATE`, [
      resource === 'deal' ? a.id : c.id,
    ]);
    patchBody = resource === 'deal' ? { volume: 4242 } : { company: 'Changed behind a lock' };
  } else if (resource === 'deal') {
    // The new link's foreign-key check, at the end of the PATCH's statement, takes FOR KEY
    // SHARE on D and waits, after the deal row was updated: the PATCH holds its xid.
    await holder.query('SELECT 1 FROM customers WHERE id = $1 FOR UPDATE', [d.id]);
    patchBody = { customer_ids: [c.id, d.id] };
  } else {
    // The PATCH's event id is pinned, and the holder inserts an uncommitted event with it: the
    // PATCH updates C, then waits on the primary key of its event.
    const eventId = uuidv7();
    await holder.query(
      `INSERT INTO events (tenant_id, id, type, resource_id, resource_version, occurred_at, payload)
       VALUES ($1, $2, 'customer.updated', $3, 1, now(), '{}')`,
      [t.world.tenant.tenant_id, eventId, c.id],
    );
    pinnedIds.push(eventId);
    patchBody = { company: 'Changed behind a held key' };
  }
  const lockedAt = Date.now();

  // 3. The PATCH is sent and seen blocked; deal B is created (with a new customer E); M2
  //    bootstraps now; the old recipe syncs now.
  const patch: Promise<Reply> = t.call('PATCH', patchPath, { body: patchBody, headers: { 'X-Request-Id': patchRequestId } });
  const waiting = await blockedPatch();
  // X: the PATCH already has its transaction id while it waits; L: it has none yet.
  if (variant === 'X') expect(waiting.xid).not.toBeNull();
  else expect(waiting.xid).toBeNull();
  expect(pinnedIds).toEqual([]);
  const b = await t.call('POST', '/deals', { body: { name: `B ${resource} ${variant}`, customers: [{ last_name: 'E' }] } });
  expect(b.status).toBe(201);
  const m2 = new Mirror(t.call);
  await m2.bootstrap();
  const oldRecipePath = resource === 'deal' ? '/deals' : '/customers';
  const syncedBeforeCommit = await updatedSince(oldRecipePath, '2000-01-01T00:00:00Z');
  const watermark = syncedBeforeCommit
    .map((x) => x.updated_at ?? x.deleted_at)
    .sort()
    .at(-1)!;
  const naiveWhileHeld = await naiveFeed(naiveFrom);

  // 4. While held: the follower gets nothing new, and its cursor comes back unchanged.
  for (let i = 0; i < 2; i++) {
    const page = await readAll(t.call, follower.cursor);
    expect(page.events).toEqual([]);
    expect(page.cursor).toBe(follower.cursor);
  }
  expect((await t.call('GET', patchPath)).json).toMatchObject(resource === 'deal' ? { volume: a.volume } : { company: c.company });
  const held = Date.now() - lockedAt;
  if (held < HOLD_MS) await new Promise((r) => setTimeout(r, HOLD_MS - held));

  // 5. The holder ends; the PATCH answers 200.
  await holder.query(variant === 'L' ? 'COMMIT' : 'ROLLBACK');
  const patched = await patch;
  expect(patched.status, patched.text).toBe(200);
  const patchedVersion = etagNumber(patched);
  const patchEvent = isEventOf(
    resource === 'deal' ? a.id : c.id,
    patchedVersion,
    resource === 'deal' ? 'deal.updated' : 'customer.updated',
  );
  const bEvent = isEventOf(b.json.id, 1, 'deal.created');
  const done = (served: FeedEvent[]) => served.some(patchEvent) && served.some(bEvent);

  const after = await follow(t.call, follower.cursor, done);
  // One more read: anything served twice would come after.
  const rest = await readAll(t.call, after.cursor);
  const served = [...after.events, ...rest.events];
  follower.events.push(...served);
  const ids = follower.events.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length);
  const keys = follower.events.map((e) => `${e.type} ${e.data.object.id} ${e.data.version}`);
  expect(new Set(keys).size).toBe(keys.length);
  expect(served.filter(patchEvent)).toHaveLength(1);
  expect(served.filter(bEvent)).toHaveLength(1);
  expect(served.filter((e) => e.origin.request_id === patchRequestId).length).toBeGreaterThanOrEqual(1);

  // Both mirrors end equal to the API.
  await m1.catchUp(done);
  await m1.expectEqualToApi();
  await m2.catchUp(done);
  await m2.expectEqualToApi();

  const { rows } = await observer.query(
    `SELECT (SELECT txid FROM events WHERE request_id = $1 LIMIT 1) < (SELECT txid FROM events WHERE resource_id = $2 AND type = 'deal.created') AS patch_first`,
    [patchRequestId, b.json.id],
  );
  const patchedId = resource === 'deal' ? a.id : c.id;
  if (variant === 'L') {
    // The PATCH got its transaction id after the wait, after B's.
    expect(rows[0].patch_first).toBe(false);
    // The old recipe: the PATCH committed with an updated_at older than the watermark, so
    // updated_since=<watermark> never returns it.
    expect(patched.json.updated_at < watermark).toBe(true);
    const syncedAfter = await updatedSince(oldRecipePath, watermark);
    expect(syncedAfter.map((x) => x.id)).not.toContain(patchedId);
  } else {
    // Precondition: the PATCH's txid is older than B's although it committed later.
    expect(rows[0].patch_first).toBe(true);
    // Meta: a feed without the xmin bound served B while the PATCH was blocked, moved past it,
    // and so never serves the PATCH's event.
    expect(naiveWhileHeld.some((e) => e.resource_id === b.json.id && e.type === 'deal.created')).toBe(true);
    const naiveLast = naiveWhileHeld.at(-1)!;
    const naiveAfter = await naiveFeed(naiveLast);
    const naiveServed = [...naiveWhileHeld, ...naiveAfter];
    expect(naiveServed.some((e) => e.resource_id === patchedId && e.resource_version === patchedVersion)).toBe(false);
    // ...while the event is there, served by the real feed.
    expect((await naiveFeed(naiveFrom)).some((e) => e.resource_id === patchedId && e.resource_version === patchedVersion)).toBe(true);
  }
}

describe('a PATCH behind a held lock, a later write committed meanwhile', () => {
  it.each<Case>([
    { resource: 'deal', variant: 'L' },
    { resource: 'customer', variant: 'L' },
    { resource: 'deal', variant: 'X' },
    { resource: 'customer', variant: 'X' },
  ])(
    '$variant, $resource: followers see every event exactly once, mirrors end equal to the API',
    async (c) => {
      await run(c);
    },
    60_000,
  );
});
