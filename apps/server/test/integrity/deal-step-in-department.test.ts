// A deal's step is one of its department's steps, and the SCHEMA says so (the foreign key
// deals (tenant_id, department_id, step_id) → steps (tenant_id, department_id, id), migration
// 20261202000000): not only the API's write statements, which check it before writing, but
// any statement at all, an administrator's raw SQL included, is refused.
import { describe, expect, it } from 'vitest';
import { referenceRequest } from '../support/fixtures.ts';
import { expectProblem } from '../support/http.ts';
import { useWorld } from '../support/world.ts';

const t = useWorld();

const FOREIGN_KEY = 'deals_tenant_id_department_id_step_id_fkey';

/** A deal of the world's first department, created through the API. */
async function createdDeal(): Promise<{ id: string; step_id: string }> {
  const reply = await t.call('POST', '/deals', { body: { name: 'Integrity' } });
  expect(reply.status, reply.text).toBe(201);
  return reply.json;
}

async function stored(id: string) {
  const { rows } = await t.server.db.pool.query<{ department_id: string; step_id: string; version: number }>(
    'SELECT department_id::text, step_id::text, version FROM deals WHERE id = $1',
    [id],
  );
  return rows[0];
}

/** The error a raw statement fails with (or undefined when it succeeds). */
async function rawError(text: string, values: unknown[]): Promise<{ code?: string; constraint?: string } | undefined> {
  return t.server.db.pool.query(text, values).then(
    () => undefined,
    (error: { code?: string; constraint?: string }) => error,
  );
}

describe('raw SQL', () => {
  it("cannot insert a deal whose step is another department's (23503)", async () => {
    const { tenant, department, otherDepartment } = t.world;
    const error = await rawError(
      `INSERT INTO deals (tenant_id, id, department_id, step_id, name) VALUES ($1, gen_random_uuid(), $2, $3, 'Smuggled')`,
      [tenant.tenant_id, department.id, otherDepartment.steps[0]!.id],
    );
    expect(error).toMatchObject({ code: '23503', constraint: FOREIGN_KEY });
    const { rows } = await t.server.db.pool.query("SELECT 1 FROM deals WHERE name = 'Smuggled'");
    expect(rows).toEqual([]);
  });

  it("cannot move a deal to another department's step, nor to another department without its step (23503)", async () => {
    const deal = await createdDeal();
    const { otherDepartment } = t.world;
    expect(await rawError('UPDATE deals SET step_id = $2 WHERE id = $1', [deal.id, otherDepartment.steps[1]!.id])).toMatchObject({
      code: '23503',
      constraint: FOREIGN_KEY,
    });
    expect(await rawError('UPDATE deals SET department_id = $2 WHERE id = $1', [deal.id, otherDepartment.id])).toMatchObject({
      code: '23503',
      constraint: FOREIGN_KEY,
    });
    expect(await stored(deal.id)).toEqual({ department_id: t.world.department.id, step_id: deal.step_id, version: 1 });
  });

  it("may move a deal to another step of its department, or to another department with that department's step", async () => {
    const deal = await createdDeal();
    const { department, otherDepartment } = t.world;
    expect(await rawError('UPDATE deals SET step_id = $2 WHERE id = $1', [deal.id, department.steps[2]!.id])).toBeUndefined();
    expect(
      await rawError('UPDATE deals SET department_id = $2, step_id = $3 WHERE id = $1', [
        deal.id,
        otherDepartment.id,
        otherDepartment.steps[0]!.id,
      ]),
    ).toBeUndefined();
    expect(await stored(deal.id)).toMatchObject({ department_id: otherDepartment.id, step_id: otherDepartment.steps[0]!.id });
  });
});

describe('the API', () => {
  it("answers 422 for another department's step on createDeal, writing nothing", async () => {
    const { rows: before } = await t.server.db.pool.query('SELECT count(*)::int AS n FROM deals');
    const problem = expectProblem(
      await t.call('POST', '/deals', { body: { ...referenceRequest, step_id: t.world.otherDepartment.steps[0]!.id } }),
      422,
    );
    expect(Object.keys(problem.errors!)).toEqual(['step_id']);
    const { rows: after } = await t.server.db.pool.query('SELECT count(*)::int AS n FROM deals');
    expect(after[0].n).toBe(before[0].n);
  });

  it("answers 422 for another department's step on updateDeal, leaving the deal as it was", async () => {
    const deal = await createdDeal();
    const problem = expectProblem(
      await t.call('PATCH', `/deals/${deal.id}`, { body: { step_id: t.world.otherDepartment.steps[0]!.id } }),
      422,
    );
    expect(Object.keys(problem.errors!)).toEqual(['step_id']);
    expect(await stored(deal.id)).toEqual({ department_id: t.world.department.id, step_id: deal.step_id, version: 1 });
  });
});
