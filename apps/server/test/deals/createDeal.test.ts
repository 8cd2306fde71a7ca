import { describe, expect, it } from 'vitest';
import { basePath } from '../../src/contract.ts';
import { deleteExpiredIdempotencyRecords } from '../../src/data/idempotency.ts';
import { referenceRequest } from '../support/fixtures.ts';
import { expectProblem, TIMESTAMP, UUID_V7 } from '../support/http.ts';
import { useWorld } from '../support/world.ts';

const t = useWorld();

const count = async (table: string) => Number((await t.server.db.pool.query(`SELECT count(*) FROM ${table}`)).rows[0].count);

describe('createDeal', () => {
  describe('201', () => {
    it('answers the reference request like the reference page', async () => {
      const reply = await t.call('POST', '/deals', { body: referenceRequest });
      expect(reply.status).toBe(201);
      const deal = reply.json;
      // The reference response's field set, in its order.
      expect(Object.keys(deal)).toEqual([
        'id',
        'name',
        'volume',
        'employee_id',
        'employee_name',
        'step_id',
        'department_id',
        'note',
        'created_at',
        'updated_at',
        'customers',
      ]);
      expect(deal).toMatchObject({
        name: 'Example Dealname',
        volume: 15000,
        employee_id: null,
        employee_name: null,
        step_id: t.world.department.steps[0]!.id,
        department_id: t.world.department.id,
        note: 'Important enterprise customer',
      });
      expect(deal.id).toMatch(UUID_V7);
      expect(deal.created_at).toMatch(TIMESTAMP);
      expect(deal.updated_at).toBe(deal.created_at);
      expect(deal.customers.map((c: any) => [c.first_name, c.last_name])).toEqual([
        ['John', 'Doe'],
        ['Jane', 'Doe'],
      ]);
      for (const c of deal.customers) {
        expect(c.id).toMatch(UUID_V7);
        expect(c).toMatchObject({ company: null, website: null, title: null, tenant_id: t.world.tenant.tenant_id });
      }
      expect(reply.headers.get('location')).toBe(`${basePath}/deals/${deal.id}`);
      expect(reply.headers.get('etag')).toBe('"1"');

      const { rows } = await t.server.db.pool.query(
        `SELECT d.name, d.volume::int, d.tenant_id::text, c.first_name, dc.position
         FROM deals d JOIN deal_customers dc ON dc.deal_id = d.id JOIN customers c ON c.id = dc.customer_id
         WHERE d.id = $1 ORDER BY dc.position`,
        [deal.id],
      );
      expect(rows).toEqual([
        { name: 'Example Dealname', volume: 15000, tenant_id: t.world.tenant.tenant_id, first_name: 'John', position: 1 },
        { name: 'Example Dealname', volume: 15000, tenant_id: t.world.tenant.tenant_id, first_name: 'Jane', position: 2 },
      ]);
      const changes = await t.server.db.pool.query('SELECT from_step_id, to_step_id::text FROM deal_step_changes WHERE deal_id = $1', [
        deal.id,
      ]);
      expect(changes.rows).toEqual([{ from_step_id: null, to_step_id: t.world.department.steps[0]!.id }]);
    });

    it('links existing customers after new ones, assigns an employee and places the deal in the given step', async () => {
      const first = await t.call('POST', '/deals', { body: referenceRequest });
      const [john, jane] = first.json.customers;
      const employee = t.world.department.employees[0]!;
      const step = t.world.department.steps[2]!;
      const reply = await t.call('POST', '/deals', {
        body: {
          name: 'Renewal',
          customers: [{ last_name: 'New' }],
          customer_ids: [jane.id, john.id],
          employee_id: employee.id,
          step_id: step.id,
        },
      });
      expect(reply.status).toBe(201);
      expect(reply.json.customers.map((c: any) => c.last_name + (c.first_name ?? ''))).toEqual(['New', 'DoeJane', 'DoeJohn']);
      expect(reply.json).toMatchObject({
        volume: 0,
        note: null,
        employee_id: employee.id,
        employee_name: `${employee.first_name} ${employee.last_name}`,
        step_id: step.id,
      });
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the first response and creates once', async () => {
      const before = await count('deals');
      const headers = { 'Idempotency-Key': 'create-once-1' };
      const first = await t.call('POST', '/deals', { body: referenceRequest, headers });
      const again = await t.call('POST', '/deals', { body: { ...referenceRequest }, headers });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.text).toBe(first.text);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('location')).toBe(first.headers.get('location'));
      expect(await count('deals')).toBe(before + 1);
    });

    it('treats the same body with keys in another order as the same request', async () => {
      const headers = { 'Idempotency-Key': 'key-order' };
      const first = await t.call('POST', '/deals', { body: { name: 'A', volume: 1 }, headers });
      const again = await t.call('POST', '/deals', { body: { volume: 1, name: 'A' }, headers });
      expect(again.json.id).toBe(first.json.id);
    });

    it('422 for the same key with a different body, writing nothing', async () => {
      const headers = { 'Idempotency-Key': 'reused-key' };
      await t.call('POST', '/deals', { body: { name: 'First' }, headers });
      const before = await count('deals');
      const problem = expectProblem(await t.call('POST', '/deals', { body: { name: 'Second' }, headers }), 422);
      expect(problem.errors).toHaveProperty('Idempotency-Key');
      expect(await count('deals')).toBe(before);
    });

    it('409 while a request with the key is in flight, then succeeds', async () => {
      const key = 'in-flight-key';
      const holder = await t.server.db.pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))`, [t.world.tenant.tenant_id, key]);
        const before = await count('deals');
        const reply = await t.call('POST', '/deals', { body: referenceRequest, headers: { 'Idempotency-Key': key } });
        expectProblem(reply, 409);
        expect(reply.headers.get('retry-after')).toBe('1');
        expect(await count('deals')).toBe(before);
      } finally {
        await holder.query('ROLLBACK');
        holder.release();
      }
      const retry = await t.call('POST', '/deals', { body: referenceRequest, headers: { 'Idempotency-Key': key } });
      expect(retry.status).toBe(201);
    });

    it('keys are scoped to the tenant', async () => {
      const headers = { 'Idempotency-Key': 'shared-across-tenants' };
      const ours = await t.call('POST', '/deals', { body: referenceRequest, headers });
      const theirs = await t.call('POST', '/deals', {
        body: referenceRequest,
        headers,
        apiKey: t.world.otherTenant.api_key,
        departmentId: t.world.otherTenant.departments[0]!.id,
      });
      expect(theirs.status).toBe(201);
      expect(theirs.json.id).not.toBe(ours.json.id);
    });

    it('expires after 24 hours', async () => {
      const headers = { 'Idempotency-Key': 'old-key' };
      const first = await t.call('POST', '/deals', { body: referenceRequest, headers });
      await t.server.db.pool.query(`UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE key = 'old-key'`);
      const later = await t.call('POST', '/deals', { body: referenceRequest, headers });
      expect(later.status).toBe(201);
      expect(later.json.id).not.toBe(first.json.id);
      expect(later.headers.get('idempotent-replayed')).toBeNull();
    });

    it('400 for a key over 255 characters', async () => {
      expectProblem(await t.call('POST', '/deals', { body: referenceRequest, headers: { 'Idempotency-Key': 'k'.repeat(256) } }), 400);
    });
  });

  describe('422', () => {
    it.each([
      ['a customer without last_name', { name: 'X', customers: [{ first_name: 'John' }] }, 'customers.0.last_name'],
      ['no name', { volume: 1 }, 'name'],
      ['an unknown field', { name: 'X', colour: 'red' }, 'colour'],
      ['a server-managed field', { name: 'X', id: '019cbd8b-dd90-7119-b13e-f99dc519c4ad' }, 'id'],
      ['department_id', { name: 'X', department_id: '019cbd8b-dd90-7119-b13e-f99dc519c4ad' }, 'department_id'],
      ['a negative volume', { name: 'X', volume: -1 }, 'volume'],
      ['a volume of 2^53', { name: 'X', volume: 2 ** 53 }, 'volume'],
      ['a volume of 1e300', { name: 'X', volume: 1e300 }, 'volume'],
      ['a string volume', { name: 'X', volume: '15000' }, 'volume'],
      ['a fractional volume', { name: 'X', volume: 1.5 }, 'volume'],
      ['a name over 255 characters', { name: 'x'.repeat(256) }, 'name'],
      ['an empty name', { name: '' }, 'name'],
      ['a NUL byte', { name: 'a\u0000b' }, 'name'],
      ['a lone surrogate', { name: 'a\ud800b' }, 'name'],
      ['a malformed employee_id', { name: 'X', employee_id: 'nope' }, 'employee_id'],
      [
        'duplicate customer_ids',
        { name: 'X', customer_ids: ['019cbd8b-dd90-7119-b13e-f99dc519c4ad', '019cbd8b-dd90-7119-b13e-f99dc519c4ad'] },
        'customer_ids',
      ],
      ['51 customers', { name: 'X', customers: Array.from({ length: 51 }, () => ({ last_name: 'A' })) }, 'customers'],
      ['an invalid birthday', { name: 'X', customers: [{ last_name: 'A', birthday: '1980-02-30' }] }, 'customers.0.birthday'],
    ])('%s', async (_label, body, field) => {
      const before = [await count('deals'), await count('customers')];
      const problem = expectProblem(await t.call('POST', '/deals', { body }), 422);
      expect(problem.message).toBe('validation error');
      expect(problem.type).toBe('https://deals-api.dev/problems/validation-error');
      expect(Object.keys(problem.errors ?? {})).toContain(field);
      expect([await count('deals'), await count('customers')]).toEqual(before);
    });

    it('refers to every invalid field at once', async () => {
      const problem = expectProblem(await t.call('POST', '/deals', { body: { customers: [{ first_name: 'x' }], extra: 1 } }), 422);
      expect(Object.keys(problem.errors!).sort()).toEqual(['customers.0.last_name', 'extra', 'name']);
      expect(problem.errors!['customers.0.last_name']).toEqual(['The customers.0.last_name field is required.']);
    });

    it('an employee who does not work in the department, a foreign step, foreign customers: nothing written', async () => {
      const foreign = await t.call('POST', '/deals', {
        body: referenceRequest,
        apiKey: t.world.otherTenant.api_key,
        departmentId: t.world.otherTenant.departments[0]!.id,
      });
      const before = [await count('deals'), await count('customers'), await count('deal_customers')];
      const problem = expectProblem(
        await t.call('POST', '/deals', {
          body: {
            name: 'X',
            customers: [{ last_name: 'Would be created' }],
            employee_id: t.world.otherDepartment.employees[0]!.id,
            step_id: t.world.otherDepartment.steps[0]!.id,
            customer_ids: [foreign.json.customers[0].id],
          },
        }),
        422,
      );
      expect(Object.keys(problem.errors!).sort()).toEqual(['customer_ids.0', 'employee_id', 'step_id']);
      expect([await count('deals'), await count('customers'), await count('deal_customers')]).toEqual(before);
    });
  });

  describe('400, 413, 415', () => {
    it('400 for malformed JSON', async () => {
      const problem = expectProblem(
        await t.call('POST', '/deals', { rawBody: '{"name": ', headers: { 'Content-Type': 'application/json' } }),
        400,
      );
      expect(problem.detail).toMatch(/not valid JSON/);
    });

    it('400 for a duplicate key', async () => {
      const problem = expectProblem(
        await t.call('POST', '/deals', { rawBody: '{"name":"a","name":"b"}', headers: { 'Content-Type': 'application/json' } }),
        400,
      );
      expect(problem.detail).toMatch(/twice/);
    });

    it('400 for JSON nested 10,000 deep', async () => {
      const deep = '['.repeat(10_000) + ']'.repeat(10_000);
      expectProblem(
        await t.call('POST', '/deals', { rawBody: `{"name":"x","note":${deep}}`, headers: { 'Content-Type': 'application/json' } }),
        400,
      );
    });

    it('413 for a body of 1 MB + 1 byte', async () => {
      const body = JSON.stringify({ name: 'x', note: '' });
      const padded = body.replace('""', `"${'a'.repeat(1024 * 1024 + 1 - body.length)}"`);
      expect(Buffer.byteLength(padded)).toBe(1024 * 1024 + 1);
      expectProblem(await t.call('POST', '/deals', { rawBody: padded, headers: { 'Content-Type': 'application/json' } }), 413);
    });

    it('415 for a body that is not JSON', async () => {
      expectProblem(
        await t.call('POST', '/deals', { rawBody: 'name=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
        415,
      );
    });
  });
});

describe('expired idempotency records', () => {
  it('are deleted in batches by the sweeper, unexpired ones kept', async () => {
    const headers = (key: string) => ({ 'Idempotency-Key': key });
    for (const key of ['sweep-1', 'sweep-2', 'sweep-3', 'keep-1'])
      await t.call('POST', '/deals', { body: { name: key }, headers: headers(key) });
    await t.server.db.pool.query(`UPDATE idempotency_records SET expires_at = now() - interval '1 minute' WHERE key LIKE 'sweep-%'`);
    expect(await deleteExpiredIdempotencyRecords(t.server.db.sql, 2)).toBeGreaterThanOrEqual(3);
    const { rows } = await t.server.db.pool.query(`SELECT key FROM idempotency_records WHERE key LIKE 'sweep-%' OR key = 'keep-1'`);
    expect(rows).toEqual([{ key: 'keep-1' }]);
  });
});
