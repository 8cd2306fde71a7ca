// createCustomer: POST /customers over real HTTP, and the rows it leaves.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { basePath } from '../../src/contract.ts';
import { useWorld } from '../support/world.ts';
import {
  customerApi,
  customerAttributes,
  expectFieldErrors,
  expectProblem,
  TIMESTAMP,
  UUID_V7,
  writableAttributes,
} from './customer-api.ts';

const t = useWorld();
const api = customerApi(
  () => t.server,
  () => t.world,
);

// Every writable attribute, from the contract's own `full` example and more.
const fullCustomer = {
  last_name: 'Doe',
  first_name: 'John',
  title: 'Mr.',
  company: 'Doe Industries',
  website: 'https://doe.example',
  email: 'john.doe@doe.example',
  phone_1: '+49 30 1234567',
  phone_2: '+49 170 7654321',
  phone_3: '+49 30 7654321',
  phone_1_label: 'Work',
  phone_2_label: 'Mobile',
  phone_3_label: 'Home',
  postcode: '10115',
  address: 'Invalidenstraße 1',
  city: 'Berlin',
  country: 'DE',
  state: 'Berlin',
  lead_origin: 'Trade fair',
  birthday: '1980-04-12',
  note: 'Prefers email. 😀',
};

const post = (body: unknown, headers: Record<string, string> = {}) => api.call('POST', '/customers', { body, headers });

describe('createCustomer', () => {
  describe('201', () => {
    it('creates a customer with every attribute, answers it with Location, ETag and X-Request-Id, and stores it', async () => {
      expect(Object.keys(fullCustomer).sort()).toEqual([...writableAttributes].sort());
      const before = Date.now();
      const reply = await post(fullCustomer, { 'X-Request-Id': 'create-full-1' });
      expect(reply.status, reply.text).toBe(201);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(reply.headers.get('x-request-id')).toBe('create-full-1');
      expect(reply.headers.get('idempotent-replayed')).toBeNull();
      const customer = reply.json;
      expect(Object.keys(customer)).toEqual(customerAttributes);
      expect(customer).toMatchObject({ ...fullCustomer, tenant_id: t.world.tenant.tenant_id });
      expect(customer.id).toMatch(UUID_V7);
      // A UUIDv7 carries its creation time in its first 48 bits.
      const idTime = parseInt(customer.id.replaceAll('-', '').slice(0, 12), 16);
      expect(idTime).toBeGreaterThanOrEqual(before - 1000);
      expect(idTime).toBeLessThanOrEqual(Date.now() + 1000);
      expect(customer.created_at).toMatch(TIMESTAMP);
      expect(customer.updated_at).toBe(customer.created_at);
      expect(Math.abs(Date.parse(customer.created_at) - Date.now())).toBeLessThan(60_000);
      expect(reply.headers.get('location')).toBe(`${basePath}/customers/${customer.id}`);
      expect(reply.headers.get('etag')).toBe('"1"');

      const row = await api.customerRow(customer.id);
      expect(row).toMatchObject({
        ...fullCustomer,
        tenant_id: t.world.tenant.tenant_id,
        version: 1,
        created_at: customer.created_at,
        updated_at: customer.updated_at,
      });

      // What Location names is what was answered.
      const read = await api.call('GET', reply.headers.get('location')!.slice(basePath.length));
      expect(read.status).toBe(200);
      expect(read.json).toEqual(customer);
      expect(read.headers.get('etag')).toBe(reply.headers.get('etag'));
    });

    it('creates a customer from the last name alone, every other attribute null', async () => {
      const reply = await post({ last_name: 'Solo' });
      expect(reply.status, reply.text).toBe(201);
      for (const attribute of writableAttributes) {
        expect(reply.json[attribute], attribute).toBe(attribute === 'last_name' ? 'Solo' : null);
      }
      const row = await api.customerRow(reply.json.id);
      for (const attribute of writableAttributes) expect(row?.[attribute], attribute).toBe(attribute === 'last_name' ? 'Solo' : null);
    });

    it('accepts explicit nulls and strings at their maximum length', async () => {
      const body = {
        last_name: 'L'.repeat(255),
        first_name: null,
        title: 'T'.repeat(50),
        website: `https://${'w'.repeat(2040)}`,
        note: 'n'.repeat(10_000),
        email: null,
      };
      const reply = await post(body);
      expect(reply.status, reply.text).toBe(201);
      expect(reply.json).toMatchObject(body);
      expect(await api.customerRow(reply.json.id)).toMatchObject(body);
    });

    it('answers the same customer again, marked Idempotent-Replayed, for a repeated Idempotency-Key, and stores it once', async () => {
      const key = randomUUID();
      const body = { last_name: 'Replay', first_name: 'Rita', email: 'rita@replay.example' };
      const first = await post(body, { 'Idempotency-Key': key });
      expect(first.status, first.text).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      // The same body, its keys in another order, is the same request.
      const again = await post({ email: 'rita@replay.example', first_name: 'Rita', last_name: 'Replay' }, { 'Idempotency-Key': key });
      expect(again.status).toBe(201);
      expect(again.text).toBe(first.text);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('location')).toBe(first.headers.get('location'));
      expect(again.headers.get('etag')).toBe(first.headers.get('etag'));
      const { rows } = await t.server.db.pool.query('SELECT id::text FROM customers WHERE last_name = $1', ['Replay']);
      expect(rows).toEqual([{ id: first.json.id }]);
    });

    it("keeps Idempotency-Keys per tenant: another tenant's request with the same key creates its own customer", async () => {
      const key = randomUUID();
      const ours = await post({ last_name: 'KeyOwner' }, { 'Idempotency-Key': key });
      const theirs = await api.call('POST', '/customers', {
        body: { last_name: 'KeyOwner' },
        headers: { 'Idempotency-Key': key },
        key: t.world.otherTenant.api_key,
        department: t.world.otherTenant.departments[0]!.id,
      });
      expect(ours.status).toBe(201);
      expect(theirs.status, theirs.text).toBe(201);
      expect(theirs.headers.get('idempotent-replayed')).toBeNull();
      expect(theirs.json.id).not.toBe(ours.json.id);
      expect(theirs.json.tenant_id).toBe(t.world.otherTenant.tenant_id);
    });
  });

  describe('400', () => {
    it('refuses a body that is not JSON, and an Idempotency-Key over 255 characters; nothing written', async () => {
      const before = await api.customerCount();
      const notJson = await api.call('POST', '/customers', { rawBody: '{"last_name": "Doe"' });
      expectProblem(notJson, 400, '/customers');
      const duplicateKey = await api.call('POST', '/customers', { rawBody: '{"last_name": "Doe", "last_name": "Roe"}' });
      expectProblem(duplicateKey, 400, '/customers');
      const longKey = await post({ last_name: 'Doe' }, { 'Idempotency-Key': 'k'.repeat(256) });
      expectProblem(longKey, 400, '/customers');
      expect(await api.customerCount()).toBe(before);
    });
  });

  describe('409', () => {
    it('answers 409 with Retry-After while a request with the same Idempotency-Key holds it, and creates once it is released', async () => {
      const key = randomUUID();
      const body = { last_name: 'InFlight' };
      // The lock the server takes for the key (data/idempotency.ts), held here as if a first
      // request with the key were still running.
      const holder = await t.server.db.pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query("SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))", [
          t.world.tenant.tenant_id,
          key,
        ]);
        const before = await api.customerCount();
        const busy = await post(body, { 'Idempotency-Key': key });
        expectProblem(busy, 409, '/customers');
        expect(busy.json.type).toBe('https://deals-api.dev/problems/idempotency-key-in-use');
        expect(Number(busy.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(await api.customerCount()).toBe(before);
        const { rows } = await t.server.db.pool.query('SELECT count(*)::int AS n FROM idempotency_records WHERE key = $1', [key]);
        expect(rows[0].n).toBe(0);
      } finally {
        await holder.query('ROLLBACK');
        holder.release();
      }
      const retried = await post(body, { 'Idempotency-Key': key });
      expect(retried.status, retried.text).toBe(201);
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
      const replayed = await post(body, { 'Idempotency-Key': key });
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      expect(replayed.json.id).toBe(retried.json.id);
    });
  });

  describe('415', () => {
    it('refuses a body that is not application/json; nothing written', async () => {
      const before = await api.customerCount();
      const reply = await api.call('POST', '/customers', {
        rawBody: 'last_name=Doe',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      expectProblem(reply, 415, '/customers');
      expect(await api.customerCount()).toBe(before);
    });
  });

  describe('422', () => {
    const invalid: Array<[string, Record<string, unknown>, string[]]> = [
      ['a missing last_name', { first_name: 'John' }, ['last_name']],
      ['an empty last_name', { last_name: '' }, ['last_name']],
      ['a null last_name', { last_name: null }, ['last_name']],
      ['a last_name that is not a string', { last_name: 42 }, ['last_name']],
      ['a field the contract does not know', { last_name: 'Doe', nickname: 'JD' }, ['nickname']],
      [
        'server-managed fields',
        {
          last_name: 'Doe',
          id: '019cbd8b-dd89-7267-b306-ee2b7796de53',
          tenant_id: '019c19a9-2f6e-7c3a-8d41-5b0e2a9c7f10',
          created_at: '2026-03-05T10:29:46.000000Z',
        },
        ['id', 'tenant_id', 'created_at'],
      ],
      ['an updated_at', { last_name: 'Doe', updated_at: '2026-03-05T10:29:46.000000Z' }, ['updated_at']],
      [
        'strings over their maximum length',
        {
          last_name: 'L'.repeat(256),
          title: 'T'.repeat(51),
          phone_1: '1'.repeat(51),
          postcode: '1'.repeat(21),
          website: 'w'.repeat(2049),
          note: 'n'.repeat(10_001),
          email: `${'e'.repeat(320)}@x.de`,
        },
        ['last_name', 'title', 'phone_1', 'postcode', 'website', 'note', 'email'],
      ],
      ['an email that is not an address', { last_name: 'Doe', email: 'john at doe' }, ['email']],
      ['a birthday that does not exist', { last_name: 'Doe', birthday: '1980-02-30' }, ['birthday']],
      ['a birthday in the 13th month', { last_name: 'Doe', birthday: '1980-13-01' }, ['birthday']],
      ['a birthday in another format', { last_name: 'Doe', birthday: '12.04.1980' }, ['birthday']],
      // 0000-01-01 is a full-date of RFC 3339 (the contract's format: date), but PostgreSQL's
      // calendar has no year 0.
      ['a birthday in the year 0000', { last_name: 'Doe', birthday: '0000-01-01' }, ['birthday']],
      ['a NUL character in a string', { last_name: 'Doe', first_name: 'Jo\u0000hn' }, ['first_name']],
      ['a NUL character in the last name', { last_name: '\u0000' }, ['last_name']],
      [
        'several invalid fields at once',
        { first_name: 'x'.repeat(256), email: 'nope', birthday: '1980-02-30' },
        ['last_name', 'first_name', 'email', 'birthday'],
      ],
    ];

    it.each(invalid)('%s: errors keyed by field, nothing written', async (_case, body, fields) => {
      const before = await api.customerCount();
      const reply = await post(body);
      expectFieldErrors(reply, '/customers', fields);
      expect(await api.customerCount()).toBe(before);
    });

    it('a lone surrogate in a string: errors keyed by field, nothing written', async () => {
      const before = await api.customerCount();
      // JSON.stringify would escape it as \ud800, which is what a client sends.
      const reply = await api.call('POST', '/customers', { rawBody: '{"last_name":"Doe","city":"\\ud800"}' });
      expectFieldErrors(reply, '/customers', ['city']);
      expect(await api.customerCount()).toBe(before);
    });

    it('refuses an Idempotency-Key reused with another body, keeping the first customer only', async () => {
      const key = randomUUID();
      const first = await post({ last_name: 'Original' }, { 'Idempotency-Key': key });
      expect(first.status).toBe(201);
      const before = await api.customerCount();
      const reused = await post({ last_name: 'Different' }, { 'Idempotency-Key': key });
      expectFieldErrors(reused, '/customers', ['Idempotency-Key']);
      expect(reused.headers.get('idempotent-replayed')).toBeNull();
      expect(await api.customerCount()).toBe(before);
      const { rows } = await t.server.db.pool.query('SELECT count(*)::int AS n FROM customers WHERE last_name = $1', ['Different']);
      expect(rows[0].n).toBe(0);
    });
  });
});
