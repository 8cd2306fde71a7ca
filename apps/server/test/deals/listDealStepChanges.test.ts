import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedWorld, type World } from '../support/fixtures.ts';
import { client, expectProblem, TIMESTAMP } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let world: World;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  server = await startTestServer();
  world = await seedWorld(server.db);
  call = client(server.baseUrl, { apiKey: world.apiKey, departmentId: world.department.id });
});
afterAll(() => server.close());

describe('listDealStepChanges', () => {
  describe('200', () => {
    it('lists the initial step and every move, oldest first, page by page', async () => {
      const steps = world.department.steps;
      const deal = (await call('POST', '/deals', { body: { name: 'Mover' } })).json;
      for (const step of [steps[1]!, steps[2]!, steps[0]!]) {
        await call('PATCH', `/deals/${deal.id}`, { body: { step_id: step.id } });
      }
      const first = await call('GET', `/deals/${deal.id}/step-changes?limit=3`);
      expect(first.status).toBe(200);
      const second = await call('GET', `/deals/${deal.id}/step-changes?limit=3&cursor=${first.json.next_cursor}`);
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
      const other = (await call('POST', '/deals', { body: { name: 'x' }, apiKey: world.otherDepartmentKey, departmentId: world.otherDepartment.id })).json;
      expectProblem(await call('GET', `/deals/${other.id}/step-changes`), 404);
    });
  });

  describe('400', () => {
    it('for a cursor of another deal', async () => {
      const a = (await call('POST', '/deals', { body: { name: 'a' } })).json;
      const b = (await call('POST', '/deals', { body: { name: 'b' } })).json;
      await call('PATCH', `/deals/${a.id}`, { body: { step_id: world.department.steps[1]!.id } });
      const cursor = (await call('GET', `/deals/${a.id}/step-changes?limit=1`)).json.next_cursor;
      expect(cursor).toBeTypeOf('string');
      expectProblem(await call('GET', `/deals/${b.id}/step-changes?cursor=${cursor}`), 400);
    });
  });
});
