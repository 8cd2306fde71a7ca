// GET /events and GET /events/{id}: filters, start, cursors and their refusals, scopes, and
// retention (410 once events past a cursor were deleted).
import { beforeAll, describe, expect, it } from 'vitest';
import { deleteExpiredEvents } from '../../src/data/events.ts';
import { encodeCursor } from '../../src/data/pagination.ts';
import { expectProblem } from '../support/http.ts';
import { useWorld } from '../support/world.ts';
import { FEED_DEADLINE_MS, type FeedEvent, feedPage, follow, nowCursor, readAll } from './feed.ts';

const t = useWorld();
const otherDepartment = () => ({ apiKey: t.world.otherDepartmentKey, departmentId: t.world.otherDepartment.id });
const otherTenant = () => ({ apiKey: t.world.otherTenant.api_key, departmentId: t.world.otherTenant.departments[0]!.id });

let start: string;
let deal: any;
let otherDeal: any;
let customer: any;
/** Everything the department's feed served from `start` through the setup. */
let served: FeedEvent[];
let end: string;

beforeAll(async () => {
  start = await nowCursor(t.call);
  customer = (await t.call('POST', '/customers', { body: { last_name: 'Tenant-wide' } })).json;
  deal = (await t.call('POST', '/deals', { body: { name: 'Feed deal', customer_ids: [customer.id] } })).json;
  await t.call('PATCH', `/deals/${deal.id}`, { body: { step_id: t.world.department.steps[1]!.id } });
  otherDeal = (await t.call('POST', '/deals', { body: { name: 'Other department deal' }, ...otherDepartment() })).json;
  await t.call('PATCH', `/customers/${customer.id}`, { body: { company: 'Tenant Co' } });
  const last = (await t.call('POST', '/deals', { body: { name: 'Last' } })).json;
  ({ events: served, cursor: end } = await follow(t.call, start, (events) => events.some((e) => e.data.object.id === last.id)));
}, 60_000);

const types = (events: FeedEvent[]) => events.map((e) => `${e.type} ${e.data.object.id}`);

describe('listEvents', () => {
  it("serves the department's deal events and the tenant's customer events, in order, never another department's", () => {
    expect(types(served)).toEqual([
      `customer.created ${customer.id}`,
      `deal.created ${deal.id}`,
      `deal.updated ${deal.id}`,
      `deal.step_changed ${deal.id}`,
      `customer.updated ${customer.id}`,
      `deal.created ${served.at(-1)!.data.object.id}`,
    ]);
  });

  it("another department sees the tenant's customer events and its own deals only", async () => {
    const all = await fromOldest(otherDepartment(), (e) => e.some((x) => x.type === 'customer.updated'));
    expect(types(all.events)).toEqual([
      `customer.created ${customer.id}`,
      `deal.created ${otherDeal.id}`,
      `customer.updated ${customer.id}`,
    ]);
  });

  it('types: only those types, and the cursor still moves past the rest', async () => {
    const page = await readAll(t.call, start, '&types=deal.step_changed&types=customer.updated');
    expect(types(page.events)).toEqual([`deal.step_changed ${deal.id}`, `customer.updated ${customer.id}`]);
    // The filter's cursor is a feed position: it ends where the unfiltered one does.
    expect(page.cursor).toBe(end);
    // A consumer may change types without restarting.
    expect((await readAll(t.call, page.cursor)).events).toEqual([]);
  });

  it('resource_id: only that deal or customer; a deal of another department gives nothing', async () => {
    expect(types((await readAll(t.call, start, `&resource_id=${deal.id}`)).events)).toEqual([
      `deal.created ${deal.id}`,
      `deal.updated ${deal.id}`,
      `deal.step_changed ${deal.id}`,
    ]);
    expect(types((await readAll(t.call, start, `&resource_id=${customer.id}&types=customer.updated`)).events)).toEqual([
      `customer.updated ${customer.id}`,
    ]);
    expect((await readAll(t.call, start, `&resource_id=${otherDeal.id}`)).events).toEqual([]);
  });

  it('pages by limit with has_more, and the same next_cursor comes back when nothing is new', async () => {
    const first = await feedPage(t.call, `cursor=${start}&limit=2`);
    expect(first.json.data.map((e: FeedEvent) => e.id)).toEqual(served.slice(0, 2).map((e) => e.id));
    expect(first.json.has_more).toBe(true);
    const second = await feedPage(t.call, `cursor=${first.json.next_cursor}&limit=2`);
    expect(second.json.data.map((e: FeedEvent) => e.id)).toEqual(served.slice(2, 4).map((e) => e.id));
    const idle = await feedPage(t.call, `cursor=${end}`);
    expect(idle.json).toEqual({ data: [], next_cursor: end, has_more: false });
  });

  it('start=oldest (the default) begins at the oldest event kept; start=now at the present', async () => {
    for (const query of ['', 'start=oldest']) {
      const page = await feedPage(t.call, `${query}${query ? '&' : ''}limit=100`);
      expect(page.status).toBe(200);
      expect(page.json.data.map((e: FeedEvent) => e.id)).toEqual(served.map((e) => e.id));
    }
    const now = await feedPage(t.call, 'start=now');
    expect(now.json.data).toEqual([]);
    expect(now.json.has_more).toBe(false);
    expect((await readAll(t.call, now.json.next_cursor)).events).toEqual([]);
  });

  it('400 for start (now or oldest) with a cursor, an edited cursor, or a cursor of another department or tenant', async () => {
    expectProblem(await feedPage(t.call, `start=now&cursor=${start}`), 400);
    expectProblem(await feedPage(t.call, `start=oldest&cursor=${start}`), 400);
    const decoded = JSON.parse(Buffer.from(end, 'base64url').toString());
    const edited = (change: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...decoded, ...change })).toString('base64url');
    for (const k of ['-1', '18446744073709551616', '1.5', '', 'abc', ' 1']) {
      expectProblem(await feedPage(t.call, `cursor=${edited({ k })}`), 400);
    }
    expectProblem(await feedPage(t.call, `cursor=${edited({ i: 'not-a-uuid' })}`), 400);
    expectProblem(await feedPage(t.call, `cursor=${edited({ f: 'AAAAAAAAAAAAAAAA' })}`), 400);
    expectProblem(await feedPage(t.call, `cursor=${end.slice(0, -3)}`), 400);
    expectProblem(await feedPage(t.call, `cursor=${end}`, otherDepartment()), 400);
    expectProblem(await feedPage(t.call, `cursor=${end}`, otherTenant()), 400);
  });
});

describe('a cursor from the future (a database restored from a dump restarts transaction ids)', () => {
  it('gets 410: its position was never handed out by this database', async () => {
    const future = encodeCursor({ key: '999999999999', id: '00000000-0000-0000-0000-000000000000' }, [
      'listEvents',
      t.world.tenant.tenant_id,
      t.world.department.id,
    ]);
    expectProblem(await feedPage(t.call, `cursor=${future}`), 410);
  });
});

describe('getEvent', () => {
  it('answers an event as the feed served it', async () => {
    for (const event of served) {
      const reply = await t.call('GET', `/events/${event.id}`);
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual(event);
    }
  });

  it("another department gets the tenant's customer events but 404 for this department's deal events; another tenant 404", async () => {
    const customerEvent = served.find((e) => e.type === 'customer.created')!;
    const dealEvent = served.find((e) => e.type === 'deal.created')!;
    expect((await t.call('GET', `/events/${customerEvent.id}`, otherDepartment())).json).toEqual(customerEvent);
    expectProblem(await t.call('GET', `/events/${dealEvent.id}`, otherDepartment()), 404);
    expectProblem(await t.call('GET', `/events/${customerEvent.id}`, otherTenant()), 404);
    expectProblem(await t.call('GET', '/events/01a00000-0000-7000-8000-000000000000'), 404);
  });
});

describe('retention', () => {
  it('deletes nothing younger than the retention period', async () => {
    expect(await deleteExpiredEvents(t.server.db.sql, 30)).toBe(0);
  });

  it('after events past a cursor were deleted, that cursor gets 410; a cursor past them, and start=oldest, go on', async () => {
    const quietOther = (await fromOldest(otherDepartment(), (e) => e.some((x) => x.type === 'customer.updated'))).cursor;
    const middle = (await feedPage(t.call, `cursor=${start}&limit=2`)).json.next_cursor;
    const { rows: before } = await t.server.db.pool.query('SELECT count(*)::int AS n FROM events');
    // 31 days from now, with 30 days kept: every event so far has expired.
    const deleted = await deleteExpiredEvents(t.server.db.sql, 30, new Date(Date.now() + 31 * 86_400_000), 3);
    expect(deleted).toBe(before[0].n);
    const { rows: horizons } = await t.server.db.pool.query(
      'SELECT scope_id::text FROM event_horizons WHERE tenant_id = $1 ORDER BY scope_id',
      [t.world.tenant.tenant_id],
    );
    expect(horizons.map((h) => h.scope_id).sort()).toEqual(
      ['00000000-0000-0000-0000-000000000000', t.world.department.id, t.world.otherDepartment.id].sort(),
    );
    for (const cursor of [start, middle]) {
      const gone = expectProblem(await feedPage(t.call, `cursor=${cursor}`), 410);
      expect(gone.type).toBe('https://deals-api.dev/problems/cursor-expired');
    }
    // Had passed every deleted event: nothing was lost for it.
    expect((await feedPage(t.call, `cursor=${end}`)).json).toEqual({ data: [], next_cursor: end, has_more: false });
    expect((await feedPage(t.call, `cursor=${quietOther}`, otherDepartment())).status).toBe(200);
    expect((await feedPage(t.call, '')).json.data).toEqual([]);
    expectProblem(await t.call('GET', `/events/${served[0]!.id}`), 404);
  });
});

describe('types over a long stretch of other events', () => {
  it('reads at most EVENT_WALK_ROWS per request: an empty page with has_more and a moved cursor, then the match', async () => {
    const from = await nowCursor(t.call);
    // 1,500 tenant-wide events of another type, in one transaction (never served: filtered out).
    await t.server.db.pool.query(
      `INSERT INTO events (tenant_id, id, type, resource_id, resource_version, occurred_at, payload)
       SELECT $1, gen_random_uuid(), 'customer.updated', gen_random_uuid(), 2, now(), '{}' FROM generate_series(1, 1500)`,
      [t.world.tenant.tenant_id],
    );
    const doomed = (await t.call('POST', '/deals', { body: { name: 'Deleted after a long stretch' } })).json;
    expect((await t.call('DELETE', `/deals/${doomed.id}`)).status).toBe(204);
    const pages: { data: FeedEvent[]; next_cursor: string; has_more: boolean }[] = [];
    let cursor = from;
    for (const deadline = Date.now() + FEED_DEADLINE_MS; ; ) {
      const page = (await feedPage(t.call, `cursor=${cursor}&types=deal.deleted&limit=10`)).json;
      pages.push(page);
      cursor = page.next_cursor;
      if (page.data.length) break;
      if (Date.now() > deadline) throw new Error(`the deletion was not served: ${JSON.stringify(pages)}`);
      if (!page.has_more) await new Promise((r) => setTimeout(r, 100));
    }
    const walkedEmpty = pages.filter((p) => p.data.length === 0 && p.has_more);
    expect(walkedEmpty.length).toBeGreaterThanOrEqual(1);
    for (const p of walkedEmpty) expect(p.next_cursor).not.toBe(from);
    expect(pages.at(-1)!.data.map((e) => `${e.type} ${e.data.object.id}`)).toEqual([`deal.deleted ${doomed.id}`]);
  });
});

/** An oldest-first follower (no cursor, then next_cursor) until `done` holds for what it was served. */
async function fromOldest(options: Parameters<typeof t.call>[2], done: (events: FeedEvent[]) => boolean) {
  const first = await feedPage(t.call, 'limit=100', options);
  expect(first.status, first.text).toBe(200);
  const rest = await follow(t.call, first.json.next_cursor, (events) => done([...first.json.data, ...events]), '', options);
  return { events: [...first.json.data, ...rest.events] as FeedEvent[], cursor: rest.cursor };
}
