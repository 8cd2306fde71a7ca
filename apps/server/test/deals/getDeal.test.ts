import { describe, expect, it } from 'vitest';
import { referenceRequest } from '../support/fixtures.ts';
import { expectProblem } from '../support/http.ts';
import { useWorld } from '../support/world.ts';

const t = useWorld();

describe('getDeal', () => {
  describe('200', () => {
    it('returns the deal as created, with its ETag', async () => {
      const created = await t.call('POST', '/deals', { body: referenceRequest });
      const reply = await t.call('GET', `/deals/${created.json.id}`);
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual(created.json);
      expect(reply.headers.get('etag')).toBe('"1"');
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it("shows a linked customer's changes", async () => {
      const created = await t.call('POST', '/deals', { body: referenceRequest });
      const john = created.json.customers[0];
      await t.call('PATCH', `/customers/${john.id}`, { body: { company: 'Doe Industries' } });
      expect((await t.call('GET', `/deals/${created.json.id}`)).json.customers[0].company).toBe('Doe Industries');
    });
  });

  describe('404', () => {
    it("for an unknown id and another tenant's deal, byte for byte", async () => {
      const theirs = await t.call('POST', '/deals', {
        body: referenceRequest,
        apiKey: t.world.otherTenant.api_key,
        departmentId: t.world.otherTenant.departments[0]!.id,
      });
      const unknownId = '019cbd8b-dd90-7119-b13e-f99dc519c4ad';
      // The same X-Request-Id for both, so that the bodies' request_id is the same too.
      const sameRequestId = { headers: { 'X-Request-Id': 'same-request' } };
      const unknown = await t.call('GET', `/deals/${unknownId}`, sameRequestId);
      const foreign = await t.call('GET', `/deals/${theirs.json.id}`, sameRequestId);
      expectProblem(unknown, 404);
      expect(foreign.text).toBe(unknown.text.replace(unknownId, theirs.json.id));
    });
  });
});
