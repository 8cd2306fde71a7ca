// Every mutating operation emits exactly its documented events (design.md §b), each valid
// against its `webhooks:` schema in the contract, its object equal to what GET answers right
// after, its version the ETag's number, its origin the request's X-Request-Id and the key's id.
import { beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/ids.ts';
import { referenceRequest } from '../support/fixtures.ts';
import type { Reply } from '../support/http.ts';
import { useWorld } from '../support/world.ts';
import { apiKeyId, etagNumber, type FeedEvent, follow, nowCursor, readAll, webhookSchemaErrors } from './feed.ts';

const t = useWorld();
let keyId: string;

beforeAll(async () => {
  keyId = await apiKeyId(t.server.db, t.world.apiKey);
});

/** Runs `write` with its own X-Request-Id; the events the feed serves for it, in feed order. */
async function eventsOf(expected: number, write: (requestId: string) => Promise<Reply>): Promise<{ reply: Reply; events: FeedEvent[] }> {
  const cursor = await nowCursor(t.call);
  const requestId = `test-${uuidv7()}`;
  const reply = await write(requestId);
  expect(reply.headers.get('x-request-id')).toBe(requestId);
  // start=now is xmin: events of writes that committed just before may still follow it (a
  // mirror drops them by version), so this write's events are told by their request id.
  const ofThisRequest = (served: FeedEvent[]) => served.filter((e) => e.origin.request_id === requestId);
  const followed = await follow(t.call, cursor, (served) => ofThisRequest(served).length >= expected);
  // One more read: an event served twice, or one too many, would come after.
  const events = ofThisRequest([...followed.events, ...(await readAll(t.call, followed.cursor)).events]);
  expect(events).toHaveLength(expected);
  const { rows } = await t.server.db.pool.query('SELECT count(*)::int AS n FROM events WHERE request_id = $1', [requestId]);
  expect(rows[0].n).toBe(expected);
  for (const event of events) {
    expect(webhookSchemaErrors(event), JSON.stringify(event)).toEqual([]);
    expect(event.origin).toEqual({ request_id: requestId, api_key_id: keyId });
  }
  // Ids sort in emission order, and the feed serves a transaction's events in that order.
  expect(events.map((e) => e.id)).toEqual(events.map((e) => e.id).sort());
  return { reply, events };
}

const withId = (requestId: string) => ({ headers: { 'X-Request-Id': requestId } });

async function expectCurrent(event: FeedEvent, path: string) {
  const current = await t.call('GET', path);
  expect(current.status).toBe(200);
  expect(event.data.object).toEqual(current.json);
  expect(event.data.version).toBe(etagNumber(current));
}

describe('createDeal', () => {
  it('emits customer.created per new customer in the request order, then deal.created', async () => {
    const linked = (await t.call('POST', '/customers', { body: { last_name: 'Linked' } })).json;
    const body = { ...referenceRequest, customer_ids: [linked.id] };
    const { reply, events } = await eventsOf(referenceRequest.customers.length + 1, (id) =>
      t.call('POST', '/deals', { body, ...withId(id) }),
    );
    expect(reply.status).toBe(201);
    const deal = reply.json;
    const newCustomers = deal.customers.slice(0, referenceRequest.customers.length);
    expect(events.map((e) => e.type)).toEqual([...newCustomers.map(() => 'customer.created'), 'deal.created']);
    // The linked existing customer did not change: no event of it.
    expect(events.map((e) => e.data.object.id)).toEqual([...newCustomers.map((c: any) => c.id), deal.id]);
    const dealEvent = events.at(-1)!;
    expect(dealEvent.data).toEqual({ object: deal, version: 1 });
    expect(dealEvent.timestamp).toBe(deal.created_at);
    await expectCurrent(dealEvent, `/deals/${deal.id}`);
    for (const [i, event] of events.slice(0, -1).entries()) {
      expect(event.data).toEqual({ object: newCustomers[i], version: 1 });
      expect(event.timestamp).toBe(newCustomers[i].created_at);
      await expectCurrent(event, `/customers/${newCustomers[i].id}`);
    }
  });

  it('with only existing customers emits deal.created alone', async () => {
    const linked = (await t.call('POST', '/customers', { body: { last_name: 'Only linked' } })).json;
    const { reply, events } = await eventsOf(1, (id) =>
      t.call('POST', '/deals', { body: { name: 'Linked only', customer_ids: [linked.id] }, ...withId(id) }),
    );
    expect(events.map((e) => e.type)).toEqual(['deal.created']);
    expect(events[0]!.data.object).toEqual(reply.json);
    await expectCurrent(events[0]!, `/deals/${reply.json.id}`);
  });
});

describe('updateDeal', () => {
  let deal: any;
  beforeAll(async () => {
    deal = (await t.call('POST', '/deals', { body: referenceRequest })).json;
  });

  it('emits deal.updated with the old value of each changed field', async () => {
    const { reply, events } = await eventsOf(1, (id) =>
      t.call('PATCH', `/deals/${deal.id}`, { body: { volume: 1234, note: null }, ...withId(id) }),
    );
    expect(reply.status).toBe(200);
    expect(events.map((e) => e.type)).toEqual(['deal.updated']);
    const [event] = events;
    expect(event!.data.object).toEqual(reply.json);
    expect(event!.data.version).toBe(etagNumber(reply));
    expect(event!.data.previous_attributes).toEqual({ volume: deal.volume, note: deal.note, updated_at: deal.updated_at });
    // previous_attributes keeps the object's field order.
    expect(Object.keys(event!.data.previous_attributes!)).toEqual(['volume', 'note', 'updated_at']);
    expect(event!.timestamp).toBe(reply.json.updated_at);
    await expectCurrent(event!, `/deals/${deal.id}`);
    deal = reply.json;
  });

  it('emits deal.updated, then deal.step_changed with the same data, when the step moves', async () => {
    const [, , third] = t.world.department.steps;
    const { reply, events } = await eventsOf(2, (id) =>
      t.call('PATCH', `/deals/${deal.id}`, { body: { step_id: third!.id }, ...withId(id) }),
    );
    expect(events.map((e) => e.type)).toEqual(['deal.updated', 'deal.step_changed']);
    expect(events[1]!.data).toEqual(events[0]!.data);
    expect(events[1]!.id).not.toBe(events[0]!.id);
    expect(events[0]!.data.previous_attributes).toEqual({ step_id: deal.step_id, updated_at: deal.updated_at });
    await expectCurrent(events[0]!, `/deals/${deal.id}`);
    deal = reply.json;
  });

  it('emits deal.updated alone for a PATCH to the same step', async () => {
    const { events } = await eventsOf(1, (id) => t.call('PATCH', `/deals/${deal.id}`, { body: { step_id: deal.step_id }, ...withId(id) }));
    expect(events.map((e) => e.type)).toEqual(['deal.updated']);
    expect(events[0]!.data.previous_attributes).toEqual({ updated_at: deal.updated_at });
    deal = events[0]!.data.object;
  });

  it('relinking customers puts the old list in previous_attributes', async () => {
    const other = (await t.call('POST', '/customers', { body: { last_name: 'Relinked' } })).json;
    const { reply, events } = await eventsOf(1, (id) =>
      t.call('PATCH', `/deals/${deal.id}`, { body: { customer_ids: [other.id, deal.customers[0].id] }, ...withId(id) }),
    );
    expect(events.map((e) => e.type)).toEqual(['deal.updated']);
    expect(events[0]!.data.object.customers.map((c: any) => c.id)).toEqual([other.id, deal.customers[0].id]);
    expect(events[0]!.data.previous_attributes).toEqual({ updated_at: deal.updated_at, customers: deal.customers });
    await expectCurrent(events[0]!, `/deals/${deal.id}`);
    deal = reply.json;
  });
});

describe('deleteDeal', () => {
  it('emits deal.deleted with the tombstone and the version after the last', async () => {
    const created = await t.call('POST', '/deals', { body: { name: 'To delete' } });
    await t.call('PATCH', `/deals/${created.json.id}`, { body: { volume: 5 } });
    const { reply, events } = await eventsOf(1, (id) => t.call('DELETE', `/deals/${created.json.id}`, withId(id)));
    expect(reply.status).toBe(204);
    expect(events.map((e) => e.type)).toEqual(['deal.deleted']);
    const [event] = events;
    const listed = await t.call('GET', `/deals?include_deleted=true&sort=-updated_at&limit=5`);
    const tombstone = listed.json.data.find((d: any) => d.id === created.json.id);
    expect(event!.data).toEqual({ object: tombstone, version: 3 });
    expect(Object.keys(event!.data.object)).toEqual(['id', 'deleted_at']);
    expect(event!.timestamp).toBe(tombstone.deleted_at);
  });
});

describe('createCustomer', () => {
  it('emits customer.created, tenant-wide', async () => {
    const { reply, events } = await eventsOf(1, (id) =>
      t.call('POST', '/customers', { body: { last_name: 'New', email: 'n@example.com' }, ...withId(id) }),
    );
    expect(reply.status).toBe(201);
    expect(events.map((e) => e.type)).toEqual(['customer.created']);
    expect(events[0]!.data).toEqual({ object: reply.json, version: 1 });
    expect(events[0]!.timestamp).toBe(reply.json.created_at);
    await expectCurrent(events[0]!, `/customers/${reply.json.id}`);
    const { rows } = await t.server.db.pool.query('SELECT department_id FROM events WHERE resource_id = $1', [reply.json.id]);
    expect(rows).toEqual([{ department_id: null }]);
  });
});

describe('updateCustomer', () => {
  it('emits customer.updated with the old values', async () => {
    const customer = (await t.call('POST', '/customers', { body: { last_name: 'Before', company: 'Old Co' } })).json;
    const { reply, events } = await eventsOf(1, (id) =>
      t.call('PATCH', `/customers/${customer.id}`, { body: { last_name: 'After', company: null }, ...withId(id) }),
    );
    expect(reply.status).toBe(200);
    expect(events.map((e) => e.type)).toEqual(['customer.updated']);
    expect(events[0]!.data).toEqual({
      object: reply.json,
      previous_attributes: { last_name: 'Before', company: 'Old Co', updated_at: customer.updated_at },
      version: 2,
    });
    expect(events[0]!.timestamp).toBe(reply.json.updated_at);
    await expectCurrent(events[0]!, `/customers/${customer.id}`);
  });
});
