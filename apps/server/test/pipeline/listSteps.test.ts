// listSteps: GET /steps over real HTTP: the department's pipeline, first step first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createDepartment } from '../../src/admin/tenancy.ts';
import { seedWorld, type World } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { type Caller, call, expectProblem, walk } from './pipeline-api.ts';

type Step = { id: string; department_id: string; name: string; position: number };

let server: TestServer;
let world: World;
/** A department whose steps were made in another order than their positions, with gaps. */
let shuffled: { id: string; key: string; stepsByPosition: Step[] };

const sales = (): Caller => ({ key: world.apiKey, department: world.department.id });

beforeAll(async () => {
  server = await startTestServer();
  world = await seedWorld(server.db);
  const department = await createDepartment(server.db.prisma, {
    tenant_id: world.tenant.tenant_id,
    name: 'Shuffled',
    steps: ['Made first', 'Made second', 'Made third', 'Made fourth', 'Made fifth'],
  });
  // Ids are time-ordered (UUIDv7), so ordering by id or by creation would pass unless the
  // positions run against them: reorder to 9, 5, 7, 1, 2 (two steps at a time, around the
  // unique position constraint).
  const positions = [9, 5, 7, 1, 2];
  await server.db.pool.query('UPDATE steps SET position = position + 100 WHERE department_id = $1', [department.id]);
  for (const [i, step] of department.steps.entries()) {
    await server.db.pool.query('UPDATE steps SET position = $1 WHERE id = $2', [positions[i], step.id]);
  }
  const key = await createApiKey(server.db.prisma, { tenant_id: world.tenant.tenant_id, department_ids: [department.id] });
  const stepsByPosition = department.steps
    .map((s, i) => ({ id: s.id, department_id: department.id, name: s.name, position: positions[i]! }))
    .sort((a, b) => a.position - b.position);
  shuffled = { id: department.id, key: key.api_key, stepsByPosition };
});
afterAll(async () => {
  await server?.close();
});

describe('listSteps', () => {
  describe('200', () => {
    it("answers the department's steps, first step first, on one page", async () => {
      const reply = await call(server, sales(), '/steps');
      expect(reply.status, reply.text).toBe(200);
      expect(reply.headers.get('x-request-id')).toBeTruthy();
      expect(reply.json.next_cursor).toBeNull();
      expect(reply.json.data).toEqual(
        world.department.steps.map((s) => ({ id: s.id, department_id: world.department.id, name: s.name, position: s.position })),
      );
      expect(reply.json.data.map((s: Step) => s.name)).toEqual(['Lead', 'Qualified', 'Proposal', 'Won']);
      for (const step of reply.json.data) expect(Object.keys(step)).toEqual(['id', 'department_id', 'name', 'position']);
    });

    it('orders by position, whatever the order the steps were made in', async () => {
      const { all } = await walk<Step>(server, { key: shuffled.key, department: shuffled.id }, '/steps', 100);
      expect(all).toEqual(shuffled.stepsByPosition);
      expect(all.map((s) => s.position)).toEqual([1, 2, 5, 7, 9]);
    });

    it.each([1, 2, 3])('walks every step once with limit=%i, in position order', async (limit) => {
      const caller = { key: shuffled.key, department: shuffled.id };
      const { pages, all } = await walk<Step>(server, caller, '/steps', limit);
      expect(pages).toHaveLength(Math.ceil(shuffled.stepsByPosition.length / limit));
      expect(all).toEqual(shuffled.stepsByPosition);
    });

    it("shows only the department's own steps: not the other department's, not another tenant's", async () => {
      const ours = (await walk<Step>(server, sales(), '/steps', 1)).all;
      const partnerships = (await walk<Step>(server, { key: world.apiKey, department: world.otherDepartment.id }, '/steps', 1)).all;
      const foreign = (
        await walk<Step>(server, { key: world.otherTenant.api_key, department: world.otherTenant.departments[0]!.id }, '/steps', 1)
      ).all;
      expect(ours.map((s) => s.id)).toEqual(world.department.steps.map((s) => s.id));
      expect(partnerships.map((s) => s.id)).toEqual(world.otherDepartment.steps.map((s) => s.id));
      expect(foreign.map((s) => s.id)).toEqual(world.otherTenant.departments[0]!.steps.map((s) => s.id));
      for (const step of ours) expect(step.department_id).toBe(world.department.id);
      for (const step of partnerships) expect(step.department_id).toBe(world.otherDepartment.id);
    });
  });

  describe('400', () => {
    it('refuses a cursor that is no cursor', async () => {
      expectProblem(await call(server, sales(), '/steps?cursor=abc'), 400, '/steps');
    });

    it("refuses another department's cursor, and another operation's", async () => {
      const other = await call(server, { key: world.apiKey, department: world.otherDepartment.id }, '/steps?limit=1');
      expect(other.json.next_cursor).toEqual(expect.any(String));
      expectProblem(await call(server, sales(), `/steps?cursor=${other.json.next_cursor}`), 400, '/steps');
      const employees = await call(server, sales(), '/employees?limit=1');
      expect(employees.json.next_cursor).toEqual(expect.any(String));
      expectProblem(await call(server, sales(), `/steps?cursor=${employees.json.next_cursor}`), 400, '/steps');
    });

    it('refuses an unknown query parameter', async () => {
      expectProblem(await call(server, sales(), '/steps?position=1'), 400, '/steps');
    });
  });

  describe('422', () => {
    it.each(['limit=0', 'limit=101', 'limit=x'])('%s: errors keyed by limit', async (query) => {
      const reply = await call(server, sales(), `/steps?${query}`);
      expectProblem(reply, 422, '/steps');
      expect(Object.keys(reply.json.errors)).toEqual(['limit']);
    });
  });
});
