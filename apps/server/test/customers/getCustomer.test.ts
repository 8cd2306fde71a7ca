// getCustomer: GET /customers/{customer_id} over real HTTP.
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/ids.ts';
import { useWorld } from '../support/world.ts';
import { customerApi, customerAttributes, expectProblem } from './customer-api.ts';

const t = useWorld();
const api = customerApi(
  () => t.server,
  () => t.world,
);

describe('getCustomer', () => {
  describe('200', () => {
    it('answers the customer as created, with its ETag', async () => {
      const created = await api.create({ last_name: 'Read', first_name: 'Rosa', birthday: '1975-12-31', city: 'Köln' });
      const reply = await api.call('GET', `/customers/${created.id}`);
      expect(reply.status, reply.text).toBe(200);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(reply.headers.get('x-request-id')).toBeTruthy();
      expect(reply.headers.get('etag')).toBe('"1"');
      expect(Object.keys(reply.json)).toEqual(customerAttributes);
      expect(reply.json).toEqual(created);
    });

    it('answers the new version and ETag after a change', async () => {
      const created = await api.create({ last_name: 'Versioned' });
      const patched = await api.call('PATCH', `/customers/${created.id}`, { body: { first_name: 'Vera' } });
      expect(patched.status, patched.text).toBe(200);
      const reply = await api.call('GET', `/customers/${created.id}`);
      expect(reply.headers.get('etag')).toBe('"2"');
      expect(reply.headers.get('etag')).toBe(patched.headers.get('etag'));
      expect(reply.json).toEqual(patched.json);
      expect(reply.json.first_name).toBe('Vera');
    });

    it('accepts the id in upper case', async () => {
      const created = await api.create({ last_name: 'Upper' });
      const reply = await api.call('GET', `/customers/${created.id.toUpperCase()}`);
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json.id).toBe(created.id);
    });
  });

  describe('404', () => {
    it('answers a problem for an id that exists nowhere', async () => {
      const id = uuidv7();
      const reply = await api.call('GET', `/customers/${id}`);
      expectProblem(reply, 404, `/customers/${id}`);
      expect(reply.json).toMatchObject({
        type: 'https://deals-api.dev/problems/not-found',
        title: 'Not found',
        detail: 'No customer with this id exists in this tenant.',
        message: 'Not found.',
      });
    });

    it('answers the same problem for an id that is not a UUID', async () => {
      // The same X-Request-Id for both, so that the bodies' request_id is the same too.
      const sameRequestId = { headers: { 'X-Request-Id': 'same-request' } };
      const missing = await api.call('GET', `/customers/${uuidv7()}`, sameRequestId);
      const reply = await api.call('GET', '/customers/not-a-uuid', sameRequestId);
      expectProblem(reply, 404, '/customers/not-a-uuid');
      const { instance: _a, ...rest } = reply.json;
      const { instance: _b, ...expected } = missing.json;
      expect(rest).toEqual(expected);
    });
  });
});
