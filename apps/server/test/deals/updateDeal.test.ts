import { beforeEach, describe, expect, it } from 'vitest';
import { referenceRequest } from '../support/fixtures.ts';
import { expectProblem, TIMESTAMP } from '../support/http.ts';
import { useWorld } from '../support/world.ts';

const t = useWorld();
let deal: any;

beforeEach(async () => {
  deal = (await t.call('POST', '/deals', { body: referenceRequest })).json;
});

const row = async (id: string) =>
  (await t.server.db.pool.query('SELECT name, volume::int, note, employee_id::text, step_id::text, version FROM deals WHERE id = $1', [id]))
    .rows[0];

describe('updateDeal', () => {
  describe('200', () => {
    it('changes only the fields sent and bumps updated_at and the ETag', async () => {
      const reply = await t.call('PATCH', `/deals/${deal.id}`, { body: { volume: 18000 } });
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject({ id: deal.id, name: deal.name, volume: 18000, note: deal.note });
      expect(reply.json.updated_at).toMatch(TIMESTAMP);
      expect(reply.json.updated_at > deal.updated_at).toBe(true);
      expect(reply.json.created_at).toBe(deal.created_at);
      expect(reply.json.customers).toEqual(deal.customers);
      expect(reply.headers.get('etag')).toBe('"2"');
      expect(await row(deal.id)).toMatchObject({ volume: 18000, name: deal.name, version: 2 });
    });

    it('assigns and unassigns an employee; clears the note', async () => {
      const employee = t.world.department.employees[1]!;
      const assigned = await t.call('PATCH', `/deals/${deal.id}`, { body: { employee_id: employee.id } });
      expect(assigned.json).toMatchObject({ employee_id: employee.id, employee_name: `${employee.first_name} ${employee.last_name}` });
      const unassigned = await t.call('PATCH', `/deals/${deal.id}`, { body: { employee_id: null, note: null } });
      expect(unassigned.json).toMatchObject({ employee_id: null, employee_name: null, note: null });
      expect(await row(deal.id)).toMatchObject({ employee_id: null, note: null });
    });

    it('moves the deal to another step and records the step change', async () => {
      const [lead, qualified] = t.world.department.steps;
      const reply = await t.call('PATCH', `/deals/${deal.id}`, { body: { step_id: qualified!.id } });
      expect(reply.json.step_id).toBe(qualified!.id);
      const changes = await t.call('GET', `/deals/${deal.id}/step-changes`);
      expect(changes.json.data.map((c: any) => [c.from_step_id, c.to_step_id])).toEqual([
        [null, lead!.id],
        [lead!.id, qualified!.id],
      ]);
      // Not moving does not record a change.
      await t.call('PATCH', `/deals/${deal.id}`, { body: { step_id: qualified!.id, name: 'same step' } });
      expect((await t.call('GET', `/deals/${deal.id}/step-changes`)).json.data).toHaveLength(2);
    });

    it('replaces the customer links in the order given', async () => {
      const [john, jane] = deal.customers;
      const other = (await t.call('POST', '/customers', { body: { last_name: 'Other' } })).json;
      const reply = await t.call('PATCH', `/deals/${deal.id}`, { body: { customer_ids: [other.id, jane.id] } });
      expect(reply.json.customers.map((c: any) => c.id)).toEqual([other.id, jane.id]);
      expect((await t.call('GET', `/deals/${deal.id}`)).json.customers.map((c: any) => c.id)).toEqual([other.id, jane.id]);
      // John is unlinked but still a customer of the tenant.
      expect((await t.call('GET', `/customers/${john.id}`)).status).toBe(200);
      const emptied = await t.call('PATCH', `/deals/${deal.id}`, { body: { customer_ids: [] } });
      expect(emptied.json.customers).toEqual([]);
    });

    it('applies with a current If-Match, or *', async () => {
      expect((await t.call('PATCH', `/deals/${deal.id}`, { body: { name: 'a' }, headers: { 'If-Match': '"1"' } })).status).toBe(200);
      expect((await t.call('PATCH', `/deals/${deal.id}`, { body: { name: 'b' }, headers: { 'If-Match': '"7", "2"' } })).status).toBe(200);
      expect((await t.call('PATCH', `/deals/${deal.id}`, { body: { name: 'c' }, headers: { 'If-Match': '*' } })).status).toBe(200);
    });
  });

  describe('404', () => {
    it('for an unknown id, a malformed id, and a deal of another department: the same answer', async () => {
      const otherDeal = await t.call('POST', '/deals', {
        body: referenceRequest,
        apiKey: t.world.otherDepartmentKey,
        departmentId: t.world.otherDepartment.id,
      });
      // The same X-Request-Id for both, so that the bodies' request_id is the same too.
      const sameRequestId = { 'X-Request-Id': 'same-request' };
      const unknown = expectProblem(
        await t.call('PATCH', '/deals/019cbd8b-dd90-7119-b13e-f99dc519c4ad', { body: { name: 'x' }, headers: sameRequestId }),
        404,
      );
      const foreign = expectProblem(
        await t.call('PATCH', `/deals/${otherDeal.json.id}`, { body: { name: 'x' }, headers: sameRequestId }),
        404,
      );
      expectProblem(await t.call('PATCH', '/deals/not-a-uuid', { body: { name: 'x' } }), 404);
      expect({ ...foreign, instance: '' }).toEqual({ ...unknown, instance: '' });
      expect((await row(otherDeal.json.id)).name).toBe('Example Dealname');
    });
  });

  describe('412', () => {
    it('for a stale If-Match, changing nothing', async () => {
      await t.call('PATCH', `/deals/${deal.id}`, { body: { name: 'changed by someone else' } });
      const reply = await t.call('PATCH', `/deals/${deal.id}`, { body: { name: 'mine' }, headers: { 'If-Match': '"1"' } });
      expectProblem(reply, 412);
      expect((await row(deal.id)).name).toBe('changed by someone else');
    });

    it('for a weak ETag (If-Match compares strongly)', async () => {
      expectProblem(await t.call('PATCH', `/deals/${deal.id}`, { body: { name: 'x' }, headers: { 'If-Match': 'W/"1"' } }), 412);
    });
  });

  describe('422', () => {
    it.each([
      ['an empty patch', {}, 'body'],
      ['a server-managed field', { created_at: '2026-03-05T10:29:46.000000Z' }, 'created_at'],
      ['customers (only customer_ids may be patched)', { customers: [{ last_name: 'A' }] }, 'customers'],
      ['a null name', { name: null }, 'name'],
    ])('%s', async (_label, body, field) => {
      const problem = expectProblem(await t.call('PATCH', `/deals/${deal.id}`, { body }), 422);
      expect(Object.keys(problem.errors!).join(' ')).toContain(field);
      expect(await row(deal.id)).toMatchObject({ version: 1 });
    });

    it('a step, employee or customer out of scope, changing nothing', async () => {
      const problem = expectProblem(
        await t.call('PATCH', `/deals/${deal.id}`, {
          body: {
            name: 'should not apply',
            step_id: t.world.otherDepartment.steps[0]!.id,
            employee_id: t.world.otherDepartment.employees[0]!.id,
            customer_ids: ['019cbd8b-dd90-7119-b13e-f99dc519c4ad'],
          },
        }),
        422,
      );
      expect(Object.keys(problem.errors!).sort()).toEqual(['customer_ids.0', 'employee_id', 'step_id']);
      expect(await row(deal.id)).toMatchObject({ name: 'Example Dealname', version: 1 });
    });
  });
});
