// listCustomers: GET /customers over real HTTP: pages, sort keys, filters and the cursors.
import { beforeAll, describe, expect, it } from 'vitest';
import { useWorld } from '../support/world.ts';
import { customerApi, customerAttributes, expectFieldErrors, expectProblem, type Reply } from './customer-api.ts';

const t = useWorld();
const api = customerApi(
  () => t.server,
  () => t.world,
);

type Customer = Record<string, string | null> & { id: string };

// Last names sort the same in every collation (ASCII, capitalised), so the expected order
// does not depend on the database's locale. The Bakers share a last name: ties go by id.
const people: Record<string, string | null>[] = [
  { last_name: 'Adams', first_name: 'Anna', company: 'Acme GmbH', email: 'anna@adams.example' },
  { last_name: 'Baker', first_name: 'Ben', email: 'BEN@BAKER.EXAMPLE' },
  { last_name: 'Baker', first_name: 'Bea' },
  { last_name: 'Baker', first_name: 'Bob' },
  { last_name: 'Clark', company: '100% Organic' },
  { last_name: 'Davis', company: 'snake_case Ltd' },
  { last_name: 'Evans', company: 'snakeXcase Ltd' },
  { last_name: 'Fisher', first_name: 'Quentin' },
  { last_name: 'Green', email: 'zed@example.org' },
  { last_name: 'Harris', company: 'Back\\slash Inc' },
  { last_name: 'Smith', first_name: 'Nora' },
  ...Array.from({ length: 17 }, (_, i) => ({ last_name: `Walker${String(i).padStart(2, '0')}` })),
];

/** Every customer of our tenant, by id, as the API answers them (kept current by the tests). */
const ours = new Map<string, Customer>();

async function get(query: string): Promise<Reply> {
  const reply = await api.call('GET', `/customers${query ? `?${query}` : ''}`);
  expect(reply.status, reply.text).toBe(200);
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(reply.json)).toEqual(['data', 'next_cursor']);
  for (const customer of reply.json.data) expect(Object.keys(customer)).toEqual(customerAttributes);
  return reply;
}

/** Follows next_cursor from the first page to the last; `between` runs after each page. */
async function walk(
  query: string,
  limit: number,
  between?: (page: number) => Promise<void>,
): Promise<{ pages: Customer[][]; all: Customer[] }> {
  const pages: Customer[][] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams(query);
    params.set('limit', String(limit));
    if (cursor) params.set('cursor', cursor);
    const reply = await get(params.toString());
    pages.push(reply.json.data);
    cursor = reply.json.next_cursor;
    if (cursor !== null) expect(reply.json.data).toHaveLength(limit);
    await between?.(pages.length);
    expect(pages.length, 'the walk ends').toBeLessThan(200);
  } while (cursor !== null);
  return { pages, all: pages.flat() };
}

const ids = (customers: Customer[]) => customers.map((c) => c.id);

async function tenantCustomerIds(): Promise<string[]> {
  const { rows } = await t.server.db.pool.query('SELECT id::text FROM customers WHERE tenant_id = $1', [t.world.tenant.tenant_id]);
  return rows.map((r: { id: string }) => r.id).sort();
}

/** Sorted by `key` then id, both ascending or both descending. */
function expectSorted(customers: Customer[], key: string, descending: boolean) {
  for (let i = 1; i < customers.length; i++) {
    const [a, b] = [customers[i - 1]!, customers[i]!];
    const order = a[key]! < b[key]! ? -1 : a[key]! > b[key]! ? 1 : a.id < b.id ? -1 : 1;
    expect(descending ? -order : order, `${key} ${descending ? 'desc' : 'asc'}: ${a[key]} ${a.id} then ${b[key]} ${b.id}`).toBe(-1);
  }
}

async function create(body: Record<string, unknown>): Promise<Customer> {
  const customer = await api.create(body);
  ours.set(customer.id, customer);
  return customer;
}

const lastNames = (customers: Customer[]) => customers.map((c) => c.last_name);

beforeAll(async () => {
  for (const person of people) await create(person);
  // Later changes to early customers, so that updated_at does not follow created_at.
  for (const name of ['Clark', 'Adams']) {
    const customer = [...ours.values()].find((c) => c.last_name === name)!;
    const reply = await api.call('PATCH', `/customers/${customer.id}`, { body: { note: `changed ${name}` } });
    ours.set(customer.id, reply.json);
  }
  // Another tenant's customers, who would match every filter below.
  for (const first_name of ['Quentin', 'Nora']) {
    const reply = await api.call('POST', '/customers', {
      body: { last_name: 'Baker', first_name, company: 'Acme 100% snake_case', email: 'ben@baker.example' },
      key: t.world.otherTenant.api_key,
      department: t.world.otherTenant.departments[0]!.id,
    });
    expect(reply.status, reply.text).toBe(201);
  }
});

describe('listCustomers', () => {
  describe('200', () => {
    describe('pages', () => {
      it('walks every customer of the tenant once, newest first by default, 25 to a page by default', async () => {
        const first = await get('');
        expect(first.json.data).toHaveLength(25);
        expect(first.json.next_cursor).toEqual(expect.any(String));
        const { all } = await walk('', 25);
        expect(ids(all).sort()).toEqual(await tenantCustomerIds());
        expect(all).toHaveLength(people.length);
        expectSorted(all, 'created_at', true);
        for (const customer of all) expect(customer).toEqual(ours.get(customer.id));
      });

      it.each([1, 4, 7, 100])('walks every page with limit=%i: no duplicates, nothing missing', async (limit) => {
        const { pages, all } = await walk('', limit);
        expect(pages).toHaveLength(Math.ceil(people.length / limit));
        expect(new Set(ids(all)).size).toBe(all.length);
        expect(ids(all).sort()).toEqual(await tenantCustomerIds());
      });

      it('shows a customer inserted while paging in no page after it, and repeats none (newest first)', async () => {
        const before = await tenantCustomerIds();
        const inserted: Customer[] = [];
        const { all } = await walk('', 6, async (page) => {
          if (page <= 2) inserted.push(await create({ last_name: `Inserted${page}` }));
        });
        // Newer than everything paged so far: they belong before the cursor, not after it.
        expect(new Set(ids(all)).size).toBe(all.length);
        expect(ids(all).sort()).toEqual(before);
        expectSorted(all, 'created_at', true);
        expect(inserted).toHaveLength(2);
      });

      it('keeps the pages not read yet when customers are inserted before and after the cursor (by last name)', async () => {
        const before = [...ours.values()];
        let early: Customer | undefined;
        let late: Customer | undefined;
        const { pages, all } = await walk('sort=last_name', 5, async (page) => {
          if (page === 1) {
            early = await create({ last_name: 'Aardvark' }); // sorts before the first page's end
            late = await create({ last_name: 'Zimmer' }); // sorts after it
          }
        });
        expect(new Set(ids(all)).size).toBe(all.length);
        expect(ids(all)).not.toContain(early!.id);
        expect(ids(all)).toContain(late!.id);
        expect(ids(all).sort()).toEqual([...ids(before), late!.id].sort());
        expectSorted(all, 'last_name', false);
        expect(pages[0]!.map((c) => c.last_name)).toEqual(['Adams', 'Baker', 'Baker', 'Baker', 'Clark']);
      });
    });

    describe('sort', () => {
      it.each(['created_at', '-created_at', 'updated_at', '-updated_at', 'last_name', '-last_name'])(
        'sort=%s: every page in order, ties broken by id in the same direction',
        async (sort) => {
          const key = sort.replace(/^-/, '');
          const { all } = await walk(`sort=${sort}`, 4);
          expect(ids(all).sort()).toEqual(await tenantCustomerIds());
          expectSorted(all, key, sort.startsWith('-'));
        },
      );

      it('orders by updated_at, not created_at, when asked to', async () => {
        const { all } = await walk('sort=-updated_at', 100);
        // Of the customers made in beforeAll, Clark and then Adams changed last, though made early.
        const firstMade = all.filter((c) => people.some((p) => p.last_name === c.last_name));
        expect(lastNames(firstMade.slice(0, 2))).toEqual(['Adams', 'Clark']);
      });

      it('breaks ties of equal last names by id', async () => {
        const { all } = await walk('sort=last_name', 2);
        const bakers = all.filter((c) => c.last_name === 'Baker');
        expect(bakers).toHaveLength(3);
        expect(ids(bakers)).toEqual([...ids(bakers)].sort());
        const { all: descending } = await walk('sort=-last_name', 2);
        expect(ids(descending.filter((c) => c.last_name === 'Baker'))).toEqual([...ids(bakers)].reverse());
      });
    });

    describe('q', () => {
      const search = async (q: string, extra = '') => lastNames((await walk(`q=${encodeURIComponent(q)}${extra}`, 100)).all).sort();

      it('matches last name, first name, company and email, case-insensitively, as substrings', async () => {
        expect(await search('aker')).toEqual(['Baker', 'Baker', 'Baker']);
        expect(await search('BAKER')).toEqual(['Baker', 'Baker', 'Baker']);
        expect(await search('quentin')).toEqual(['Fisher']);
        expect(await search('ACME')).toEqual(['Adams']);
        expect(await search('gmbh')).toEqual(['Adams']);
        expect(await search('ZED@example')).toEqual(['Green']);
        expect(await search('ben@baker')).toEqual(['Baker']);
      });

      it('takes % and _ (and \\) literally, not as wildcards', async () => {
        expect(await search('%')).toEqual(['Clark']);
        expect(await search('100%')).toEqual(['Clark']);
        expect(await search('e_c')).toEqual(['Davis']);
        expect(await search('_')).toEqual(['Davis']);
        expect(await search('\\')).toEqual(['Harris']);
        expect(await search('k\\s')).toEqual(['Harris']);
      });

      it('finds nothing, on one last page, for a term nobody has', async () => {
        const reply = await get('q=nobody-has-this');
        expect(reply.json).toEqual({ data: [], next_cursor: null });
      });

      it('pages through the matches with the filter in the cursor', async () => {
        const { pages, all } = await walk('q=baker&sort=last_name', 1);
        expect(pages).toHaveLength(3);
        expect(lastNames(all)).toEqual(['Baker', 'Baker', 'Baker']);
      });

      it('matches within one field, not across the boundary between two (Smith, Nora is no match for "h n")', async () => {
        expect(await search('smith')).toEqual(['Smith']);
        expect(await search('nora')).toEqual(['Smith']);
        expect(await search('h n')).toEqual([]);
        // No field of Walker00 has a space in it.
        expect(await search(' ')).not.toContain('Walker00');
      });

      it('finds a customer by non-ASCII letters in either case', async () => {
        const muller = await create({ last_name: 'Müller', company: 'Ärztehaus Süd' });
        expect(ids((await walk(`q=${encodeURIComponent('MÜLLER')}`, 100)).all)).toEqual([muller.id]);
        expect(ids((await walk(`q=${encodeURIComponent('ärztehaus')}`, 100)).all)).toEqual([muller.id]);
      });

      // The term is lower-cased by JavaScript, the names by PostgreSQL: where the two disagree,
      // a customer's own spelling of a name no longer finds them.
      it('finds a customer by the exact spelling of a Turkish name with İ', async () => {
        const ilker = await create({ last_name: 'Yılmaz', first_name: 'İlker' });
        expect(ids((await walk(`q=${encodeURIComponent('İlker')}`, 100)).all)).toEqual([ilker.id]);
      });

      it('finds a customer by the exact spelling of a Greek name ending in Σ', async () => {
        const odos = await create({ last_name: 'Papadopoulos', company: 'ΟΔΟΣ ΑΕ' });
        expect(ids((await walk(`q=${encodeURIComponent('ΟΔΟΣ')}`, 100)).all)).toEqual([odos.id]);
      });
    });

    describe('email', () => {
      it('matches the whole address, case-insensitively', async () => {
        expect(lastNames((await get('email=ben@baker.example')).json.data)).toEqual(['Baker']);
        expect(lastNames((await get('email=ANNA@Adams.Example')).json.data)).toEqual(['Adams']);
      });

      it('does not match a part of an address', async () => {
        expect((await get('email=baker.example')).json.data).toEqual([]);
        expect((await get('email=ben@baker')).json.data).toEqual([]);
      });
    });

    describe('updated_since', () => {
      it('lists exactly the customers updated at or after the instant, however its offset is written', async () => {
        const { all } = await walk('sort=updated_at', 100);
        const since = all[Math.floor(all.length / 2)]!.updated_at!;
        const expected = ids(all.filter((c) => c.updated_at! >= since)).sort();
        expect(expected.length).toBeGreaterThan(1);
        expect(expected.length).toBeLessThan(all.length);
        expect(ids((await walk(`updated_since=${since}`, 100)).all).sort()).toEqual(expected);
        // The same instant two hours ahead, written with its offset.
        const shifted = new Date(Date.parse(`${since.slice(0, 19)}Z`) + 2 * 3600_000).toISOString().slice(0, 19);
        const withOffset = `${shifted}${since.slice(19, 26)}+02:00`;
        expect(ids((await walk(`updated_since=${encodeURIComponent(withOffset)}`, 100)).all).sort()).toEqual(expected);
      });

      it('includes a customer again once it changes', async () => {
        const { all } = await walk('sort=-updated_at', 100);
        const since = all[0]!.updated_at!;
        const oldest = all.at(-1)!;
        expect(ids((await walk(`updated_since=${since}`, 100)).all)).not.toContain(oldest.id);
        const changed = await api.call('PATCH', `/customers/${oldest.id}`, { body: { note: 'touched' } });
        ours.set(oldest.id, changed.json);
        expect(ids((await walk(`updated_since=${since}`, 100)).all)).toContain(oldest.id);
      });
    });
  });

  describe('400', () => {
    const expectBadCursor = async (query: string) => {
      const reply = await api.call('GET', `/customers?${query}`);
      expectProblem(reply, 400, '/customers');
      expect(reply.json.type).toBe('https://deals-api.dev/problems/malformed-request');
    };
    const firstCursor = async (query: string, key = t.world.apiKey, department = t.world.department.id) => {
      const reply = await api.call('GET', `${query}${query.includes('?') ? '&' : '?'}limit=1`, { key, department });
      expect(reply.json.next_cursor, reply.text).toEqual(expect.any(String));
      return reply.json.next_cursor as string;
    };

    it('refuses a cursor that is no cursor', async () => {
      await expectBadCursor('cursor=abc');
      await expectBadCursor(`cursor=${Buffer.from('{"k":"x","i":"y","f":"z"}').toString('base64url')}`);
    });

    it('refuses a cursor of another sort', async () => {
      await expectBadCursor(`sort=last_name&cursor=${await firstCursor('/customers?sort=created_at')}`);
      await expectBadCursor(`sort=-created_at&cursor=${await firstCursor('/customers?sort=created_at')}`);
      // A cursor of the default sort is not one of the explicit opposite sort.
      await expectBadCursor(`sort=created_at&cursor=${await firstCursor('/customers')}`);
    });

    it('refuses a cursor of other filters', async () => {
      await expectBadCursor(`q=walker&cursor=${await firstCursor('/customers?q=baker')}`);
      await expectBadCursor(`cursor=${await firstCursor('/customers?q=baker')}`);
    });

    it("refuses another tenant's cursor and another operation's cursor", async () => {
      const foreign = await firstCursor('/customers', t.world.otherTenant.api_key, t.world.otherTenant.departments[0]!.id);
      await expectBadCursor(`cursor=${foreign}`);
      await expectBadCursor(`cursor=${await firstCursor('/steps')}`);
    });

    it('refuses an unknown query parameter', async () => {
      const reply = await api.call('GET', '/customers?last_name=Baker');
      expectProblem(reply, 400, '/customers');
      expect(reply.json.detail).toContain('last_name');
    });
  });

  describe('422', () => {
    it.each([
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=ten', 'limit'],
      ['limit=2.5', 'limit'],
      ['sort=first_name', 'sort'],
      ['q=', 'q'],
      [`q=${'q'.repeat(201)}`, 'q'],
      ['email=', 'email'],
      ['updated_since=yesterday', 'updated_since'],
      ['updated_since=2026-02-30T00:00:00Z', 'updated_since'],
      // Valid for the contract's formats, but not for PostgreSQL: a NUL in text, a year 0.
      ['q=a%00b', 'q'],
      ['email=a%00b@example.com', 'email'],
      ['updated_since=0000-01-01T00:00:00Z', 'updated_since'],
    ])('%s: errors keyed by the parameter', async (query, field) => {
      expectFieldErrors(await api.call('GET', `/customers?${query}`), '/customers', [field]);
    });
  });
});
