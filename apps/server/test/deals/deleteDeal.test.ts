import { describe, expect, it } from 'vitest';
import { referenceRequest } from '../support/fixtures.ts';
import { expectProblem, TIMESTAMP } from '../support/http.ts';
import { useWorld } from '../support/world.ts';

const t = useWorld();

describe('deleteDeal', () => {
  describe('204', () => {
    it('removes the deal and its links, keeps its customers, leaves a tombstone for sync', async () => {
      const since = new Date(Date.now() - 1000).toISOString();
      const deal = (await t.call('POST', '/deals', { body: referenceRequest })).json;
      const reply = await t.call('DELETE', `/deals/${deal.id}`);
      expect(reply.status).toBe(204);
      expect(reply.text).toBe('');
      expectProblem(await t.call('GET', `/deals/${deal.id}`), 404);
      expect((await t.call('GET', '/deals')).json.data.map((d: any) => d.id)).not.toContain(deal.id);
      expect((await t.call('GET', `/customers/${deal.customers[0].id}`)).status).toBe(200);
      const links = await t.server.db.pool.query('SELECT count(*)::int AS n FROM deal_customers WHERE deal_id = $1', [deal.id]);
      expect(links.rows[0].n).toBe(0);

      const sync = await t.call('GET', `/deals?sort=updated_at&include_deleted=true&updated_since=${since}`);
      expect(sync.status, sync.text).toBe(200);
      const tombstone = sync.json.data.find((d: any) => d.id === deal.id);
      expect(tombstone).toEqual({ id: deal.id, deleted_at: expect.stringMatching(TIMESTAMP) });
    });

    it('with a current If-Match', async () => {
      const deal = (await t.call('POST', '/deals', { body: { name: 'x' } })).json;
      expect((await t.call('DELETE', `/deals/${deal.id}`, { headers: { 'If-Match': '"1"' } })).status).toBe(204);
    });
  });

  describe('404', () => {
    it("for a deleted deal, an unknown one, another department's", async () => {
      const deal = (await t.call('POST', '/deals', { body: { name: 'x' } })).json;
      await t.call('DELETE', `/deals/${deal.id}`);
      expectProblem(await t.call('DELETE', `/deals/${deal.id}`), 404);
      const other = (
        await t.call('POST', '/deals', {
          body: { name: 'y' },
          apiKey: t.world.otherDepartmentKey,
          departmentId: t.world.otherDepartment.id,
        })
      ).json;
      expectProblem(await t.call('DELETE', `/deals/${other.id}`), 404);
      expect((await t.server.db.pool.query('SELECT 1 FROM deals WHERE id = $1', [other.id])).rowCount).toBe(1);
    });
  });

  describe('412', () => {
    it('for a stale If-Match, deleting nothing', async () => {
      const deal = (await t.call('POST', '/deals', { body: { name: 'x' } })).json;
      await t.call('PATCH', `/deals/${deal.id}`, { body: { name: 'y' } });
      expectProblem(await t.call('DELETE', `/deals/${deal.id}`, { headers: { 'If-Match': '"1"' } }), 412);
      expect((await t.call('GET', `/deals/${deal.id}`)).status).toBe(200);
    });
  });
});
