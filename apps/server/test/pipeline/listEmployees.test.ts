// listEmployees: GET /employees over real HTTP: who works in the department, by last name,
// then first name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createDepartment, createEmployee } from '../../src/admin/tenancy.ts';
import { seedWorld, type World } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { type Caller, call, expectProblem, walk } from './pipeline-api.ts';

type Employee = { id: string; first_name: string; last_name: string; email: string | null };

let server: TestServer;
let world: World;
let support: Caller;
/** Who works in Support, in the order the API must list them. */
let staff: Employee[];
let notInSupport: Employee;

const sales = (): Caller => ({ key: world.apiKey, department: world.department.id });

beforeAll(async () => {
  server = await startTestServer();
  world = await seedWorld(server.db);
  const tenant_id = world.tenant.tenant_id;
  const department = await createDepartment(server.db.prisma, { tenant_id, name: 'Support', steps: ['Open'] });
  const hire = async (first_name: string, last_name: string, email: string | null, department_ids: string[]) => {
    const e = await createEmployee(server.db.prisma, { tenant_id, department_ids, first_name, last_name, email });
    return { id: e.id, first_name: e.first_name, last_name: e.last_name, email: e.email };
  };
  // Hired in an order that is neither the list's nor alphabetical by first name.
  const zoe = await hire('Zoe', 'Young', 'zoe@support.example', [department.id]);
  const bob = await hire('Bob', 'Baker', null, [department.id]);
  const ann = await hire('Ann', 'Baker', 'ann@support.example', [department.id]);
  const carl = await hire('Carl', 'Adams', 'carl@support.example', [department.id, world.department.id]);
  // Two people of one name: ordered by id.
  const millers = [
    await hire('Max', 'Miller', 'max1@support.example', [department.id]),
    await hire('Max', 'Miller', 'max2@support.example', [department.id]),
  ].sort((a, b) => (a.id < b.id ? -1 : 1));
  notInSupport = await hire('Nina', 'Abbott', 'nina@sales.example', [world.department.id]);
  staff = [carl, ann, bob, ...millers, zoe];
  const key = await createApiKey(server.db.prisma, { tenant_id, department_ids: [department.id, world.department.id] });
  support = { key: key.api_key, department: department.id };
});
afterAll(async () => {
  await server?.close();
});

describe('listEmployees', () => {
  describe('200', () => {
    it('answers who works in the department, by last name, then first name, then id', async () => {
      const reply = await call(server, support, '/employees');
      expect(reply.status, reply.text).toBe(200);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(reply.headers.get('x-request-id')).toBeTruthy();
      expect(reply.json).toEqual({ data: staff, next_cursor: null });
      for (const employee of reply.json.data) expect(Object.keys(employee)).toEqual(['id', 'first_name', 'last_name', 'email']);
    });

    it.each([1, 2, 4])('walks every employee once with limit=%i, in the same order', async (limit) => {
      const { pages, all } = await walk<Employee>(server, support, '/employees', limit);
      expect(pages).toHaveLength(Math.ceil(staff.length / limit));
      expect(all).toEqual(staff);
    });

    it('leaves out employees who work only in other departments, and other tenants', async () => {
      const { all } = await walk<Employee>(server, support, '/employees', 1);
      expect(all.map((e) => e.id)).not.toContain(notInSupport.id);
      const sales1 = (await walk<Employee>(server, sales(), '/employees', 1)).all;
      // Carl works in both departments; Nina in Sales only; Sales' seeded staff stay in Sales.
      const seeded = world.department.employees.map((e) => e.id);
      expect(sales1.map((e) => e.id).sort()).toEqual([...seeded, staff[0]!.id, notInSupport.id].sort());
      expect(sales1.map((e) => e.last_name)).toEqual(['Abbott', 'Adams', 'Lovelace', 'Turing']);
      const partnerships = (await walk<Employee>(server, { key: world.apiKey, department: world.otherDepartment.id }, '/employees', 1)).all;
      expect(partnerships.map((e) => e.id).sort()).toEqual(world.otherDepartment.employees.map((e) => e.id).sort());
      const foreign = (
        await walk<Employee>(server, { key: world.otherTenant.api_key, department: world.otherTenant.departments[0]!.id }, '/employees', 1)
      ).all;
      expect(foreign.map((e) => e.id).sort()).toEqual(world.otherTenant.departments[0]!.employees.map((e) => e.id).sort());
    });
  });

  describe('400', () => {
    it('refuses a cursor that is no cursor', async () => {
      expectProblem(await call(server, support, '/employees?cursor=abc'), 400, '/employees');
    });

    it("refuses another department's cursor", async () => {
      const other = await call(server, sales(), '/employees?limit=1');
      expect(other.json.next_cursor).toEqual(expect.any(String));
      expectProblem(await call(server, support, `/employees?cursor=${other.json.next_cursor}`), 400, '/employees');
    });

    it('refuses an unknown query parameter', async () => {
      expectProblem(await call(server, support, '/employees?last_name=Baker'), 400, '/employees');
    });
  });

  describe('422', () => {
    it.each(['limit=0', 'limit=101'])('%s: errors keyed by limit', async (query) => {
      const reply = await call(server, support, `/employees?${query}`);
      expectProblem(reply, 422, '/employees');
      expect(Object.keys(reply.json.errors)).toEqual(['limit']);
    });
  });
});
