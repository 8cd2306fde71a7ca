import { describe, expect, it } from 'vitest';
import { expectProblem, TIMESTAMP } from '../support/http.ts';
import { useWorld } from '../support/world.ts';

const t = useWorld();

describe('listDealStepChanges', () => {
  describe('200', () => {
    it('lists the initial step and every move, oldest first, page by page', async () => {
      const steps = t.world.department.steps;
      const deal = (await t.call('POST', '/deals', { body: { name: 'Mover' } })).json;
      for (const step of [steps[1]!, steps[2]!, steps[0]!]) {
        await t.call('PATCH', `/deals/${deal.id}`, { body: { step_id: step.id } });
      }
      const first = await t.call('GET', `/deals/${deal.id}/step-changes?limit=3`);
      expect(first.status).toBe(200);
      const second = await t.call('GET', `/deals/${deal.id}/step-changes?limit=3&cursor=${first.json.next_cursor}`);
      expect(second.json.next_cursor).toBeNull();
      const changes = [...first.json.data, ...second.json.data];
      expect(changes.map((c: any) => [c.from_step_id, c.to_step_id])).toEqual([
        [null, steps[0]!.id],
        [steps[0]!.id, steps[1]!.id],
        [steps[1]!.id, steps[2]!.id],
        [steps[2]!.id, steps[0]!.id],
      ]);
      for (const c of changes) {
        expect(c.deal_id).toBe(deal.id);
        expect(c.changed_at).toMatch(TIMESTAMP);
      }
      expect(changes[0].changed_at).toBe(deal.created_at);
    });
  });

  describe('404', () => {
    it('for a deal of another department', async () => {
      const other = (
        await t.call('POST', '/deals', {
          body: { name: 'x' },
          apiKey: t.world.otherDepartmentKey,
          departmentId: t.world.otherDepartment.id,
        })
      ).json;
      expectProblem(await t.call('GET', `/deals/${other.id}/step-changes`), 404);
    });
  });

  describe('400', () => {
    it('for a cursor of another deal', async () => {
      const a = (await t.call('POST', '/deals', { body: { name: 'a' } })).json;
      const b = (await t.call('POST', '/deals', { body: { name: 'b' } })).json;
      await t.call('PATCH', `/deals/${a.id}`, { body: { step_id: t.world.department.steps[1]!.id } });
      const cursor = (await t.call('GET', `/deals/${a.id}/step-changes?limit=1`)).json.next_cursor;
      expect(cursor).toBeTypeOf('string');
      expectProblem(await t.call('GET', `/deals/${b.id}/step-changes?cursor=${cursor}`), 400);
    });
  });
});
