// updateCustomer: PATCH /customers/{customer_id} over real HTTP, and the row it leaves.
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/ids.ts';
import { useWorld } from '../support/world.ts';
import { customerApi, customerAttributes, expectFieldErrors, expectProblem, TIMESTAMP } from './customer-api.ts';

const t = useWorld();
const api = customerApi(
  () => t.server,
  () => t.world,
);

const original = {
  last_name: 'Doe',
  first_name: 'John',
  company: 'Doe Industries',
  website: 'https://doe.example',
  email: 'john.doe@doe.example',
  phone_1: '+49 30 1234567',
  phone_1_label: 'Work',
  birthday: '1980-04-12',
  note: 'Prefers email.',
};

const patch = (id: string, body: unknown, headers: Record<string, string> = {}) => api.call('PATCH', `/customers/${id}`, { body, headers });

describe('updateCustomer', () => {
  describe('200', () => {
    it('changes only the fields sent, bumps the version and ETag and updated_at, and stores it', async () => {
      const created = await api.create(original);
      const reply = await patch(created.id, { phone_2: '+49 170 7654321', phone_2_label: 'Mobile', city: 'Berlin' });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(reply.headers.get('x-request-id')).toBeTruthy();
      expect(reply.headers.get('etag')).toBe('"2"');
      expect(Object.keys(reply.json)).toEqual(customerAttributes);
      expect(reply.json).toEqual({
        ...created,
        phone_2: '+49 170 7654321',
        phone_2_label: 'Mobile',
        city: 'Berlin',
        updated_at: reply.json.updated_at,
      });
      expect(reply.json.updated_at).toMatch(TIMESTAMP);
      expect(reply.json.updated_at > created.updated_at).toBe(true);
      expect(reply.json.created_at).toBe(created.created_at);
      const row = await api.customerRow(created.id);
      expect(row).toMatchObject({
        ...original,
        phone_2: '+49 170 7654321',
        phone_2_label: 'Mobile',
        city: 'Berlin',
        version: 2,
        updated_at: reply.json.updated_at,
      });
    });

    it('clears optional fields sent as null', async () => {
      const created = await api.create(original);
      const reply = await patch(created.id, { website: null, birthday: null, first_name: null, note: null });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json).toMatchObject({
        website: null,
        birthday: null,
        first_name: null,
        note: null,
        last_name: 'Doe',
        company: 'Doe Industries',
      });
      expect(await api.customerRow(created.id)).toMatchObject({
        website: null,
        birthday: null,
        first_name: null,
        note: null,
        last_name: 'Doe',
      });
    });

    it('changes the ETag with every change', async () => {
      const created = await api.create({ last_name: 'Etag' });
      const etags = ['"1"'];
      for (const note of ['a', 'b', 'c']) {
        const reply = await patch(created.id, { note });
        expect(reply.status).toBe(200);
        etags.push(reply.headers.get('etag')!);
      }
      expect(etags).toEqual(['"1"', '"2"', '"3"', '"4"']);
    });

    it('applies the change when If-Match is the current ETag', async () => {
      const created = await api.create({ last_name: 'Match' });
      const reply = await patch(created.id, { note: 'matched' }, { 'If-Match': '"1"' });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.headers.get('etag')).toBe('"2"');
      expect(await api.customerRow(created.id)).toMatchObject({ note: 'matched', version: 2 });
    });

    it('applies the change when If-Match lists the current ETag among others', async () => {
      const created = await api.create({ last_name: 'Listed' });
      const reply = await patch(created.id, { note: 'listed' }, { 'If-Match': '"7", "1"' });
      expect(reply.status, reply.text).toBe(200);
      expect(await api.customerRow(created.id)).toMatchObject({ note: 'listed', version: 2 });
    });

    it('applies the change when If-Match is *', async () => {
      const created = await api.create({ last_name: 'Star' });
      await patch(created.id, { note: 'one' });
      const reply = await patch(created.id, { note: 'two' }, { 'If-Match': '*' });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.headers.get('etag')).toBe('"3"');
      expect(await api.customerRow(created.id)).toMatchObject({ note: 'two', version: 3 });
    });
  });

  describe('404', () => {
    it('answers a problem for an id that exists nowhere, with or without If-Match; nothing written', async () => {
      const before = await api.customerCount();
      const id = uuidv7();
      const variants: Record<string, string>[] = [{}, { 'If-Match': '"1"' }, { 'If-Match': '*' }];
      for (const headers of variants) {
        const reply = await patch(id, { note: 'x' }, headers);
        expectProblem(reply, 404, `/customers/${id}`);
        expect(reply.json.detail).toBe('No customer with this id exists in this tenant.');
      }
      expect(await api.customerCount()).toBe(before);
    });
  });

  describe('412', () => {
    it('refuses a stale If-Match and leaves the row as it was', async () => {
      const created = await api.create(original);
      await patch(created.id, { note: 'changed by someone else' });
      const before = await api.customerRow(created.id);
      const reply = await patch(created.id, { note: 'my change' }, { 'If-Match': '"1"' });
      expectProblem(reply, 412, `/customers/${created.id}`);
      expect(reply.json.type).toBe('https://deals-api.dev/problems/precondition-failed');
      expect(await api.customerRow(created.id)).toEqual(before);
    });

    it('refuses a weak ETag in If-Match (If-Match compares strongly) and leaves the row as it was', async () => {
      const created = await api.create({ last_name: 'Weak' });
      const before = await api.customerRow(created.id);
      const reply = await patch(created.id, { note: 'weak' }, { 'If-Match': 'W/"1"' });
      expectProblem(reply, 412, `/customers/${created.id}`);
      expect(await api.customerRow(created.id)).toEqual(before);
    });
  });

  describe('422', () => {
    const invalid: Array<[string, Record<string, unknown>, string[]]> = [
      ['a null last_name (it cannot be cleared)', { last_name: null }, ['last_name']],
      ['an empty last_name', { last_name: '' }, ['last_name']],
      ['no field at all', {}, ['body']],
      ['a field the contract does not know', { nickname: 'JD' }, ['nickname']],
      [
        'server-managed fields',
        { id: uuidv7(), tenant_id: uuidv7(), updated_at: '2026-03-05T10:29:46.000000Z' },
        ['id', 'tenant_id', 'updated_at'],
      ],
      ['a string over its maximum length', { company: 'c'.repeat(256) }, ['company']],
      ['a birthday that does not exist', { birthday: '1981-02-29' }, ['birthday']],
      ['a birthday in the year 0000, which PostgreSQL cannot store', { birthday: '0000-12-31' }, ['birthday']],
      ['an email that is not an address', { email: 'doe@' }, ['email']],
      ['a NUL character', { note: 'a\u0000b' }, ['note']],
    ];

    it.each(invalid)('%s: errors keyed by field, the row unchanged', async (_case, body, fields) => {
      const created = await api.create(original);
      const before = await api.customerRow(created.id);
      const reply = await patch(created.id, body);
      expectFieldErrors(reply, `/customers/${created.id}`, fields);
      expect(await api.customerRow(created.id)).toEqual(before);
    });
  });
});
