// The delivery log (listWebhookDeliveries) and queuing by hand (redeliverEvent,
// recoverWebhookEndpoint) over real HTTP, and the rows they leave. No worker runs here: what
// they queue stays pending, so the rows show exactly what was queued.
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/ids.ts';
import { expectProblem, TIMESTAMP, UUID_V7 } from '../support/http.ts';
import { createEndpoint, deliveryRows, endpointBody, endpointRow, insertDelivery, insertEvent, useEndpointWorld } from './endpoint-api.ts';

let wakes = 0;
const t = useEndpointWorld({ wake: () => void wakes++ });

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
const DAY = 24 * 60;
const ts = (d: Date) => d.toISOString().replace('Z', '000Z');
const DELIVERY_ATTRIBUTES = ['id', 'event_id', 'event_type', 'status', 'next_attempt_at', 'created_at', 'attempts'];

describe('listWebhookDeliveries', () => {
  describe('200', () => {
    it('newest first, each with its attempts in order; paginated', async () => {
      const endpoint = await createEndpoint(t);
      const events = [await insertEvent(t), await insertEvent(t, { type: 'deal.updated' }), await insertEvent(t)];
      const failed = await insertDelivery(t, endpoint.id, events[0]!, { status: 'failed', attempts: 3, createdAt: minutesAgo(30) });
      const succeeded = await insertDelivery(t, endpoint.id, events[1]!, { status: 'succeeded', attempts: 1, createdAt: minutesAgo(20) });
      const pending = await insertDelivery(t, endpoint.id, events[2]!, { status: 'pending', createdAt: minutesAgo(10) });

      const first = await t.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?limit=2`);
      expect(first.status, first.text).toBe(200);
      expect(first.json.data.map((d: any) => d.id)).toEqual([pending, succeeded]);
      expect(first.json.next_cursor).toEqual(expect.any(String));
      const second = await t.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?limit=2&cursor=${first.json.next_cursor}`);
      expect(second.json).toMatchObject({ data: [{ id: failed }], next_cursor: null });

      const [p, s] = first.json.data;
      expect(Object.keys(p)).toEqual(DELIVERY_ATTRIBUTES);
      expect(p).toMatchObject({ event_id: events[2]!.id, event_type: 'deal.created', status: 'pending', attempts: [] });
      expect(p.next_attempt_at).toMatch(TIMESTAMP);
      expect(s).toMatchObject({ event_id: events[1]!.id, event_type: 'deal.updated', status: 'succeeded', next_attempt_at: null });
      const f = second.json.data[0];
      expect(f.attempts).toHaveLength(3);
      expect(f.attempts[0]).toEqual({
        attempted_at: expect.stringMatching(TIMESTAMP),
        status_code: 500,
        duration_ms: 12,
        error: 'http',
        response_body: 'Internal Server Error',
      });
      expect(f.attempts.map((a: any) => a.attempted_at)).toEqual([...f.attempts.map((a: any) => a.attempted_at)].sort());
    });

    it('filters by status and by event_id', async () => {
      const endpoint = await createEndpoint(t);
      const event = await insertEvent(t);
      const failed = await insertDelivery(t, endpoint.id, event, { status: 'failed' });
      const again = await insertDelivery(t, endpoint.id, event, { status: 'pending' });
      await insertDelivery(t, endpoint.id, await insertEvent(t), { status: 'failed' });

      const byEvent = await t.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?event_id=${event.id}`);
      expect(byEvent.json.data.map((d: any) => d.id)).toEqual([again, failed]);
      const byBoth = await t.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?event_id=${event.id}&status=failed`);
      expect(byBoth.json.data.map((d: any) => d.id)).toEqual([failed]);
      const byStatus = await t.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?status=failed`);
      expect(byStatus.json.data).toHaveLength(2);
      expect(byStatus.json.data.every((d: any) => d.status === 'failed')).toBe(true);
    });

    it('shows at most the contract’s 20 attempts of a delivery: the latest', async () => {
      const endpoint = await createEndpoint(t);
      await insertDelivery(t, endpoint.id, await insertEvent(t), { status: 'failed', attempts: 25, createdAt: minutesAgo(60) });
      const reply = await t.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries`);
      expect(reply.status, reply.text).toBe(200);
      const attempts = reply.json.data[0].attempts;
      expect(attempts).toHaveLength(20);
      const { rows } = await t.server.db.pool.query(
        `SELECT api_timestamp(attempted_at) AS at FROM webhook_attempts a JOIN webhook_deliveries w ON w.id = a.delivery_id
         WHERE w.endpoint_id = $1 ORDER BY a.attempt OFFSET 5`,
        [endpoint.id],
      );
      expect(attempts.map((a: any) => a.attempted_at)).toEqual(rows.map((r) => r.at));
    });

    it('an endpoint without deliveries has an empty log', async () => {
      const endpoint = await createEndpoint(t);
      const reply = await t.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries`);
      expect(reply.json).toEqual({ data: [], next_cursor: null });
    });
  });

  it('400 for a cursor of another filter', async () => {
    const endpoint = await createEndpoint(t);
    for (let i = 0; i < 2; i++) await insertDelivery(t, endpoint.id, await insertEvent(t), { status: 'failed' });
    const first = await t.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?limit=1`);
    expectProblem(
      await t.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?limit=1&status=failed&cursor=${first.json.next_cursor}`),
      400,
    );
  });

  it('404 for an endpoint that does not exist', async () => {
    expectProblem(await t.call('GET', `/webhook-endpoints/${uuidv7()}/deliveries`), 404);
  });

  it('422 for an unknown status', async () => {
    const endpoint = await createEndpoint(t);
    expectProblem(await t.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?status=lost`), 422);
  });
});

describe('redeliverEvent', () => {
  describe('202', () => {
    it('queues a new pending delivery of the event, due now, and wakes the worker', async () => {
      const endpoint = await createEndpoint(t);
      const event = await insertEvent(t);
      const earlier = await insertDelivery(t, endpoint.id, event, { status: 'succeeded' });
      const before = wakes;
      const reply = await t.call('POST', `/events/${event.id}/redeliver`, { body: { endpoint_id: endpoint.id } });
      expect(reply.status, reply.text).toBe(202);
      expect(Object.keys(reply.json)).toEqual(DELIVERY_ATTRIBUTES);
      expect(reply.json).toMatchObject({ event_id: event.id, event_type: 'deal.created', status: 'pending', attempts: [] });
      expect(reply.json.id).toMatch(UUID_V7);
      expect(reply.json.next_attempt_at).toBe(reply.json.created_at);
      expect(wakes).toBe(before + 1);
      const rows = await deliveryRows(t, endpoint.id);
      expect(rows.map((r) => [r.id, r.status])).toEqual([
        [earlier, 'succeeded'],
        [reply.json.id, 'pending'],
      ]);
      expect(rows[1]!.next_attempt_at.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    });

    it('a customer event (tenant-wide) can be redelivered from any department', async () => {
      const endpoint = await createEndpoint(t);
      const event = await insertEvent(t, { type: 'customer.created', departmentId: null });
      const reply = await t.call('POST', `/events/${event.id}/redeliver`, { body: { endpoint_id: endpoint.id } });
      expect(reply.status, reply.text).toBe(202);
      expect(reply.json.event_type).toBe('customer.created');
    });
  });

  describe('404', () => {
    it('for an event that does not exist, and queues nothing', async () => {
      const endpoint = await createEndpoint(t);
      const problem = expectProblem(await t.call('POST', `/events/${uuidv7()}/redeliver`, { body: { endpoint_id: endpoint.id } }), 404);
      expect(problem.detail).toMatch(/No event/);
      expect(await deliveryRows(t, endpoint.id)).toEqual([]);
    });

    it('for an endpoint that does not exist', async () => {
      const event = await insertEvent(t);
      const problem = expectProblem(await t.call('POST', `/events/${event.id}/redeliver`, { body: { endpoint_id: uuidv7() } }), 404);
      expect(problem.detail).toMatch(/No webhook endpoint/);
    });

    it("for another department's deal event, and another tenant's customer event", async () => {
      const endpoint = await createEndpoint(t);
      const theirs = await insertEvent(t, { departmentId: t.world.otherDepartment.id });
      const otherTenant = await insertEvent(t, {
        type: 'customer.created',
        departmentId: null,
        tenantId: t.world.otherTenant.tenant_id,
      });
      for (const event of [theirs, otherTenant]) {
        const reply = await t.call('POST', `/events/${event.id}/redeliver`, { body: { endpoint_id: endpoint.id } });
        expect(expectProblem(reply, 404).detail).toMatch(/No event/);
      }
      expect(await deliveryRows(t, endpoint.id)).toEqual([]);
    });
  });

  it('409 for a disabled endpoint, naming why, and queues nothing', async () => {
    const endpoint = await createEndpoint(t);
    await t.call('PATCH', `/webhook-endpoints/${endpoint.id}`, { body: { status: 'disabled' } });
    const event = await insertEvent(t);
    const problem = expectProblem(await t.call('POST', `/events/${event.id}/redeliver`, { body: { endpoint_id: endpoint.id } }), 409);
    expect(problem.type).toBe('https://deals-api.dev/problems/endpoint-disabled');
    expect(problem.detail).toBe(`Webhook endpoint ${endpoint.id} is disabled (manual); enable it first.`);
    expect(await deliveryRows(t, endpoint.id)).toEqual([]);
  });

  it('422 without an endpoint_id', async () => {
    const event = await insertEvent(t);
    expectProblem(await t.call('POST', `/events/${event.id}/redeliver`, { body: {} }), 422);
  });
});

describe('recoverWebhookEndpoint', () => {
  describe('202', () => {
    it('supersedes the window’s failed deliveries, queues the events never queued, enables the endpoint', async () => {
      const endpoint = await createEndpoint(
        t,
        endpointBody('https://r.example.net/h', { enabled_events: ['deal.created', 'customer.created'] }),
      );
      const since = minutesAgo(10 * DAY + 60);
      // Before the window: neither requeued nor created.
      const old = await insertEvent(t, { occurredAt: minutesAgo(10 * DAY + 90) });
      await insertDelivery(t, endpoint.id, old, { status: 'failed', createdAt: minutesAgo(10 * DAY + 90) });
      await insertEvent(t, { occurredAt: minutesAgo(10 * DAY + 80) });
      // In the window: a failed delivery, a succeeded one, a pending one, and three events never queued,
      // one of a type the endpoint does not want and one of another department.
      const failedEvent = await insertEvent(t, { occurredAt: minutesAgo(10 * DAY + 50) });
      const failed = await insertDelivery(t, endpoint.id, failedEvent, {
        status: 'failed',
        attempts: 10,
        createdAt: minutesAgo(10 * DAY + 50),
      });
      const okEvent = await insertEvent(t, { occurredAt: minutesAgo(10 * DAY + 45) });
      await insertDelivery(t, endpoint.id, okEvent, { status: 'succeeded', createdAt: minutesAgo(10 * DAY + 45) });
      const pendingEvent = await insertEvent(t, { occurredAt: minutesAgo(10 * DAY + 44) });
      await insertDelivery(t, endpoint.id, pendingEvent, { status: 'pending', createdAt: minutesAgo(10 * DAY + 44) });
      const missedDeal = await insertEvent(t, { occurredAt: minutesAgo(10 * DAY + 40) });
      const missedCustomer = await insertEvent(t, { type: 'customer.created', departmentId: null, occurredAt: minutesAgo(10 * DAY + 30) });
      await insertEvent(t, { type: 'deal.deleted', occurredAt: minutesAgo(10 * DAY + 30) });
      await insertEvent(t, { departmentId: t.world.otherDepartment.id, occurredAt: minutesAgo(10 * DAY + 30) });
      await t.server.db.pool.query(`UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'gone' WHERE id = $1`, [
        endpoint.id,
      ]);

      const before = wakes;
      const reply = await t.call('POST', `/webhook-endpoints/${endpoint.id}/recover`, {
        body: { since: ts(since), until: ts(minutesAgo(10 * DAY + 10)) },
      });
      expect(reply.status, reply.text).toBe(202);
      expect(reply.json).toEqual({ requeued: 1, created: 2 });
      expect(wakes).toBe(before + 1);

      const rows = await deliveryRows(t, endpoint.id);
      const queued = rows.filter((r) => r.status === 'pending' && r.id !== undefined && r.created_at > minutesAgo(1));
      expect(queued.map((r) => r.event_id).sort()).toEqual([failedEvent.id, missedDeal.id, missedCustomer.id].sort());
      for (const r of queued) {
        expect(r.attempt_count).toBe(0);
        expect(r.next_attempt_at.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      }
      expect(rows.find((r) => r.id === failed)!.status).toBe('cancelled');
      expect(rows.filter((r) => r.event_id === old.id).map((r) => r.status)).toEqual(['failed']);
      expect(rows.filter((r) => r.event_id === pendingEvent.id)).toHaveLength(1);
      expect(await endpointRow(t, endpoint.id)).toMatchObject({
        status: 'enabled',
        disabled_reason: null,
        failing_since: null,
        version: 2,
      });

      // The superseded delivery keeps its attempts in the log; the new one starts afresh.
      const log = await t.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?event_id=${failedEvent.id}`);
      expect(log.json.data.map((d: any) => [d.status, d.attempts.length])).toEqual([
        ['pending', 0],
        ['cancelled', 10],
      ]);
    });

    it('until bounds the window (exclusive); nothing to do answers zeros', async () => {
      const endpoint = await createEndpoint(t);
      const inside = await insertEvent(t, { occurredAt: minutesAgo(20 * DAY + 50) });
      await insertEvent(t, { occurredAt: minutesAgo(20 * DAY + 20) });
      const reply = await t.call('POST', `/webhook-endpoints/${endpoint.id}/recover`, {
        body: { since: ts(minutesAgo(20 * DAY + 60)), until: ts(minutesAgo(20 * DAY + 30)) },
      });
      expect(reply.json).toEqual({ requeued: 0, created: 1 });
      expect((await deliveryRows(t, endpoint.id)).map((r) => r.event_id)).toEqual([inside.id]);
      const again = await t.call('POST', `/webhook-endpoints/${endpoint.id}/recover`, {
        body: { since: ts(minutesAgo(20 * DAY + 60)), until: ts(minutesAgo(20 * DAY + 30)) },
      });
      expect(again.status).toBe(202);
      expect(again.json).toEqual({ requeued: 0, created: 0 });
    });
  });

  it('202: without until, the window ends now', async () => {
    const as = { apiKey: t.world.otherDepartmentKey, departmentId: t.world.otherDepartment.id };
    const endpoint = await createEndpoint(t, endpointBody('https://o.example.net/h', { enabled_events: ['deal.step_changed'] }), as);
    await t.call('PATCH', `/webhook-endpoints/${endpoint.id}`, { body: { status: 'disabled' }, ...as });
    const missed = await insertEvent(t, { type: 'deal.step_changed', departmentId: t.world.otherDepartment.id });
    const reply = await t.call('POST', `/webhook-endpoints/${endpoint.id}/recover`, { body: { since: ts(minutesAgo(5)) }, ...as });
    expect(reply.status, reply.text).toBe(202);
    expect(reply.json).toEqual({ requeued: 0, created: 1 });
    expect((await deliveryRows(t, endpoint.id)).map((r) => [r.event_id, r.status])).toEqual([[missed.id, 'pending']]);
    expect(await endpointRow(t, endpoint.id)).toMatchObject({ status: 'enabled' });
  });

  it('404 for an endpoint that does not exist', async () => {
    expectProblem(await t.call('POST', `/webhook-endpoints/${uuidv7()}/recover`, { body: { since: '2026-01-01T00:00:00.000000Z' } }), 404);
  });

  it('202 for any readable instant: an offset PostgreSQL would refuse (+20:00), fractions of any length, year 0001', async () => {
    const endpoint = await createEndpoint(t);
    for (const body of [
      { since: '2026-03-06T18:00:00+20:00' },
      { since: '2026-03-06T18:00:00.5Z', until: '2026-03-06T18:00:00.500001Z' },
      { since: '0001-01-01T00:00:00Z', until: '9999-12-31T23:59:59Z' },
    ]) {
      const reply = await t.call('POST', `/webhook-endpoints/${endpoint.id}/recover`, { body });
      expect(reply.status, `${JSON.stringify(body)}: ${reply.text}`).toBe(202);
    }
  });

  it.each([
    ['since after until', { since: '2026-03-06T18:00:00.000000Z', until: '2026-03-06T17:00:00.000000Z' }, 'until'],
    ['no since', { until: '2026-03-06T17:00:00.000000Z' }, 'since'],
    ['since not a timestamp', { since: 'yesterday' }, 'since'],
    // RFC 3339 as the validator reads it, but no instant JavaScript can read: never a 500.
    ['a leap second', { since: '2026-12-31T23:59:60Z' }, 'since'],
    ['an offset without minutes', { since: '2026-03-06T18:00:00+05' }, 'since'],
    // Compared as times, not as text: 18:00 at -02:00 is 20:00 UTC, after until (19:00 UTC).
    ['since after until in other offsets', { since: '2026-03-06T18:00:00-02:00', until: '2026-03-06T19:00:00.5Z' }, 'until'],
  ])('422 for %s, and changes nothing', async (_name, body, field) => {
    const endpoint = await createEndpoint(t);
    await t.server.db.pool.query(`UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'manual' WHERE id = $1`, [
      endpoint.id,
    ]);
    const problem = expectProblem(await t.call('POST', `/webhook-endpoints/${endpoint.id}/recover`, { body }), 422);
    expect(Object.keys(problem.errors ?? {})).toContain(field);
    expect(await endpointRow(t, endpoint.id)).toMatchObject({ status: 'disabled', version: 1 });
  });
});
