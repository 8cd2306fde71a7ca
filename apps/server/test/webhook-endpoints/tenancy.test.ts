// An endpoint belongs to one department of one tenant. Every webhook-endpoint operation, asked
// by another department (same key, or a key of that department only) or by another tenant,
// answers 404 exactly as for an id that does not exist, and changes nothing.
import { describe, expect, it } from 'vitest';
import { secretBox } from '../../src/webhooks/secret-box.ts';
import { expectProblem } from '../support/http.ts';
import { TEST_WEBHOOK_KEY } from '../support/server.ts';
import {
  createEndpoint,
  deliveryRows,
  endpointBody,
  endpointRow,
  insertDelivery,
  insertEvent,
  startReceiver,
  useEndpointWorld,
} from './endpoint-api.ts';

const t = useEndpointWorld();

describe('another department or tenant gets 404 for every operation on an endpoint', () => {
  it('and the endpoint, its secret and its deliveries are unchanged', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await createEndpoint(t, endpointBody(receiver.url));
      const event = await insertEvent(t);
      await insertDelivery(t, endpoint.id, event, { status: 'failed', attempts: 1 });
      const before = await endpointRow(t, endpoint.id);
      const deliveriesBefore = await deliveryRows(t, endpoint.id);

      const strangers = {
        'the same key in its other department': { departmentId: t.world.otherDepartment.id },
        'a key of the other department only': { apiKey: t.world.otherDepartmentKey, departmentId: t.world.otherDepartment.id },
        'another tenant': { apiKey: t.world.otherTenant.api_key, departmentId: t.world.otherTenant.departments[0]!.id },
      };
      // An event each stranger can see, so that redeliver fails on the endpoint, not the event.
      const theirEvents = {
        'the same key in its other department': await insertEvent(t, { departmentId: t.world.otherDepartment.id }),
        'a key of the other department only': await insertEvent(t, { type: 'customer.created', departmentId: null }),
        'another tenant': await insertEvent(t, {
          tenantId: t.world.otherTenant.tenant_id,
          departmentId: t.world.otherTenant.departments[0]!.id,
        }),
      };
      const id = endpoint.id;
      for (const [who, as] of Object.entries(strangers)) {
        const calls: [string, string, unknown][] = [
          ['GET', `/webhook-endpoints/${id}`, undefined],
          ['PATCH', `/webhook-endpoints/${id}`, { status: 'disabled' }],
          ['POST', `/webhook-endpoints/${id}/rotate-secret`, { grace_period_seconds: 0 }],
          ['GET', `/webhook-endpoints/${id}/deliveries`, undefined],
          ['POST', `/webhook-endpoints/${id}/recover`, { since: '2020-01-01T00:00:00.000000Z' }],
          ['POST', `/webhook-endpoints/${id}/test`, undefined],
          ['POST', `/events/${theirEvents[who as keyof typeof theirEvents].id}/redeliver`, { endpoint_id: id }],
          ['DELETE', `/webhook-endpoints/${id}`, undefined],
        ];
        for (const [method, path, body] of calls) {
          const reply = await t.call(method, path, { ...as, body });
          const problem = expectProblem(reply, 404);
          expect(problem.detail, `${who}: ${method} ${path}`).toBe('No webhook endpoint with this id exists in this department.');
        }
        const list = await t.call('GET', '/webhook-endpoints', as);
        expect(list.json.data.map((e: any) => e.id)).not.toContain(id);
        // Nor can they redeliver this department's event, even to an endpoint of their own.
        const own = await createEndpoint(t, endpointBody('https://theirs.example.net/h'), as);
        const redeliver = await t.call('POST', `/events/${event.id}/redeliver`, { ...as, body: { endpoint_id: own.id } });
        expect(expectProblem(redeliver, 404).detail).toBe('No event with this id exists for this department.');
        expect(await deliveryRows(t, own.id)).toEqual([]);
      }

      expect(await endpointRow(t, id)).toEqual(before);
      expect(secretBox(TEST_WEBHOOK_KEY).open(before!.secret)).toBe(endpoint.secret);
      expect(await deliveryRows(t, id)).toEqual(deliveriesBefore);
      expect(receiver.received).toEqual([]);
      expect((await t.call('GET', `/webhook-endpoints/${id}`)).status).toBe(200);
    } finally {
      await receiver.close();
    }
  });
});
