import { beforeAll, describe, expect, it } from 'vitest';
import { client, expectProblem } from '../support/http.ts';
import { useWorld } from '../support/world.ts';

const t = useWorld();
const deals: any[] = [];
let customerId: string;

// 12 deals with distinct names and volumes, spread over steps, employees and one customer.
beforeAll(async () => {
  customerId = (await t.call('POST', '/customers', { body: { last_name: 'Linked' } })).json.id;
  const names = ['Alpha', 'bravo', 'Charlie', 'delta', 'Echo 100%', 'foxtrot_x', 'Golf', 'hotel', 'India', 'juliet', 'Kilo', 'lima'];
  for (const [i, name] of names.entries()) {
    const reply = await t.call('POST', '/deals', {
      body: {
        name,
        volume: (i * 7919) % 100,
        step_id: t.world.department.steps[i % 3]!.id,
        ...(i % 4 === 0 ? {} : { employee_id: t.world.department.employees[i % 2]!.id }),
        ...(i % 5 === 0 ? { customer_ids: [customerId] } : {}),
      },
    });
    deals.push(reply.json);
  }
  // A deal of the other department must never show up here.
  await t.call('POST', '/deals', {
    body: { name: 'Alpha elsewhere' },
    apiKey: t.world.otherDepartmentKey,
    departmentId: t.world.otherDepartment.id,
  });
});

async function walk(query: string, limit = 5): Promise<any[]> {
  const seen: any[] = [];
  let cursor: string | null = null;
  do {
    const sep = query ? '&' : '';
    const reply = await t.call('GET', `/deals?${query}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.data.length).toBeLessThanOrEqual(limit);
    seen.push(...reply.json.data);
    cursor = reply.json.next_cursor;
  } while (cursor);
  return seen;
}

const ids = (list: any[]) => list.map((d) => d.id);
const byKey = (key: string, dir: 1 | -1) => (a: any, b: any) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : a.id < b.id ? -1 : 1) * dir;

describe('listDeals', () => {
  describe('200', () => {
    it('pages through every deal of the department, newest first by default', async () => {
      const all = await walk('');
      expect(ids(all)).toEqual(ids([...deals].sort(byKey('created_at', -1))));
      expect(all[0].customers).toBeDefined();
    });

    it('defaults to 25 per page', async () => {
      const reply = await t.call('GET', '/deals');
      expect(reply.json.data).toHaveLength(12);
      expect(reply.json.next_cursor).toBeNull();
    });

    it.each(['created_at', 'updated_at', 'volume', 'name'])('sorts by %s in both directions', async (key) => {
      const asc = await walk(`sort=${key}`, 4);
      const desc = await walk(`sort=-${key}`, 4);
      // PostgreSQL's collation decides name order; compare with its own ORDER BY.
      const expected = async (dir: string) =>
        (
          await t.server.db.pool.query(`SELECT id::text FROM deals WHERE department_id = $1 ORDER BY ${key} ${dir}, id ${dir}`, [
            t.world.department.id,
          ])
        ).rows.map((r) => r.id);
      expect(ids(asc)).toEqual(await expected('ASC'));
      expect(ids(desc)).toEqual(await expected('DESC'));
    });

    it('filters by step, employee, unassigned, customer, name and updated_since', async () => {
      const step = t.world.department.steps[1]!.id;
      const employee = t.world.department.employees[1]!.id;
      const expectIds = async (query: string, predicate: (d: any) => boolean) =>
        expect(ids(await walk(query, 3)).sort()).toEqual(ids(deals.filter(predicate)).sort());
      await expectIds(`step_id=${step}`, (d) => d.step_id === step);
      await expectIds(`employee_id=${employee}`, (d) => d.employee_id === employee);
      await expectIds('employee_id=unassigned', (d) => d.employee_id === null);
      await expectIds(`customer_id=${customerId}`, (d) => d.customers.some((c: any) => c.id === customerId));
      await expectIds('q=ALP', (d) => d.name === 'Alpha');
      await expectIds(`step_id=${step}&employee_id=${employee}`, (d) => d.step_id === step && d.employee_id === employee);
      await expectIds(`updated_since=${deals[6].updated_at}`, (d) => d.updated_at >= deals[6].updated_at);
    });

    it('treats % and _ in q as literal characters', async () => {
      expect((await walk('q=0%25')).map((d) => d.name)).toEqual(['Echo 100%']);
      expect((await walk('q=t_x')).map((d) => d.name)).toEqual(['foxtrot_x']);
      expect(await walk('q=%25%25')).toEqual([]);
    });

    it('is stable under concurrent inserts: no repeats, no skips of existing rows', async () => {
      const first = await t.call('GET', '/deals?sort=created_at&limit=5');
      const inserted = (await t.call('POST', '/deals', { body: { name: 'Inserted meanwhile' } })).json;
      let cursor = first.json.next_cursor;
      const rest: any[] = [];
      while (cursor) {
        const page = await t.call('GET', `/deals?sort=created_at&limit=5&cursor=${cursor}`);
        rest.push(...page.json.data);
        cursor = page.json.next_cursor;
      }
      const seen = [...first.json.data, ...rest];
      expect(new Set(ids(seen)).size).toBe(seen.length);
      for (const d of deals) expect(ids(seen)).toContain(d.id);
      expect(ids(seen).at(-1)).toBe(inserted.id); // ascending: a new row lands on a later page
      await t.call('DELETE', `/deals/${inserted.id}`);
    });
  });

  describe('400', () => {
    it('for a malformed cursor', async () => {
      expectProblem(await t.call('GET', '/deals?cursor=bm90LWEtY3Vyc29y'), 400);
      expectProblem(await t.call('GET', '/deals?cursor=!!!'), 422);
    });

    it('for a cursor of another query, department or tenant', async () => {
      const byName = (await t.call('GET', '/deals?sort=name&limit=2')).json.next_cursor;
      expectProblem(await t.call('GET', `/deals?sort=volume&limit=2&cursor=${byName}`), 400);
      expectProblem(await t.call('GET', `/deals?sort=name&q=a&limit=2&cursor=${byName}`), 400);
      const otherDept = client(t.server.baseUrl, { apiKey: t.world.apiKey, departmentId: t.world.otherDepartment.id });
      expectProblem(await otherDept('GET', `/deals?sort=name&limit=2&cursor=${byName}`), 400);
      const otherTenant = client(t.server.baseUrl, {
        apiKey: t.world.otherTenant.api_key,
        departmentId: t.world.otherTenant.departments[0]!.id,
      });
      expectProblem(await otherTenant('GET', `/deals?sort=name&limit=2&cursor=${byName}`), 400);
      // The same query with the filters in another order accepts it.
      expect((await t.call('GET', `/deals?limit=2&cursor=${byName}&sort=name`)).status).toBe(200);
    });

    it('for an unknown query parameter', async () => {
      const problem = expectProblem(await t.call('GET', '/deals?colour=red'), 400);
      expect(problem.detail).toMatch(/colour/);
    });

    it('for include_deleted without sorting by updated_at, or with other filters', async () => {
      expectProblem(await t.call('GET', '/deals?include_deleted=true'), 400);
      expectProblem(await t.call('GET', '/deals?include_deleted=true&sort=updated_at&q=a'), 400);
    });
  });

  describe('422', () => {
    it.each([
      'limit=0',
      'limit=101',
      'limit=ten',
      'sort=price',
      'step_id=nope',
      'employee_id=nobody',
      'updated_since=yesterday',
      'include_deleted=maybe',
    ])('%s', async (query) => {
      const problem = expectProblem(await t.call('GET', `/deals?${query}`), 422);
      expect(Object.keys(problem.errors!)).toEqual([query.split('=')[0]]);
    });
  });
});
