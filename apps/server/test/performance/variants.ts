// Every statement shape the data layer prepares (db/sql.ts names a statement by its text, so a
// shape is a distinct text): each list's filters × sorts × cursor, each write with every
// optional part of its request, the key lookup, the idempotency lookups and the sweeper.
// A variant is a call of the data function with an Sql that explains instead of running.
import { readdirSync, readFileSync } from 'node:fs';
import type { CustomerPatch, DealCreate, DealPatch } from '@deals/api-types';
import { SEARCH_WORD } from '../../bench/support/bulk-load.ts';
import { findApiKeyGrant } from '../../src/data/api-keys.ts';
import { customerColumns } from '../../src/data/customer-columns.ts';
import { type CustomerListQuery, findCustomer, insertCustomer, listCustomers, updateCustomer } from '../../src/data/customers.ts';
import { type DealListQuery, findDeal, listDealStepChanges, listDeals } from '../../src/data/deals-read.ts';
import { deleteDeal, insertDeal, updateDeal } from '../../src/data/deals-write.ts';
import { type EventStamp, eventIds } from '../../src/data/events.ts';
import { deleteExpiredIdempotencyRecords, readPriorResponse, requestHash } from '../../src/data/idempotency.ts';
import { encodeCursor } from '../../src/data/pagination.ts';
import type { Sql } from '../../src/db/sql.ts';
import { uuidv7 } from '../../src/ids.ts';
import { eventVariants } from './event-variants.ts';
import type { LoadedDatabase } from './loaded-database.ts';
import { webhookDeliveryVariants } from './webhook-delivery-variants.ts';
import { webhookEndpointVariants } from './webhook-endpoint-variants.ts';

/** Adds a variant: the data function's name, a label, and the call. */
export type AddVariant = (operation: string, label: string, run: Variant['run'], search?: Variant['search']) => void;

export type Variant = {
  label: string;
  /** The data-layer function it calls. */
  operation: string;
  /** For a search: whether its term has a trigram for the index to look up. */
  search?: 'trigram' | 'no trigram';
  run: (sql: Sql) => Promise<unknown>;
};

const dealSorts = ['created_at', '-created_at', 'updated_at', '-updated_at', 'volume', '-volume', 'name', '-name'] as const;
const customerSorts = ['created_at', '-created_at', 'updated_at', '-updated_at', 'last_name', '-last_name'] as const;

/** The data functions that take an Sql, read from src/data: every one must have a variant. */
export function preparedOperations(): string[] {
  const dir = new URL('../../src/data/', import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) =>
      [...readFileSync(new URL(f, dir), 'utf8').matchAll(/export (?:async )?function (\w+)\(\s*sql: Sql\b/g)].map((m) => m[1]!),
    );
}

export async function variants(loaded: LoadedDatabase): Promise<Variant[]> {
  const { db, scope, space, dealId, customerEmail } = loaded;
  const list: Variant[] = [];
  const add: AddVariant = (operation, label, run, search) =>
    list.push({ operation, label: `${operation} ${label}`.trim(), run, ...(search ? { search } : {}) });

  /** The real next_cursor of the query's first page (of 2). */
  const cursorOf = async (page: Promise<string>, what: unknown): Promise<string> => {
    const { next_cursor } = JSON.parse(await page) as { next_cursor: string | null };
    if (!next_cursor) throw new Error(`no second page for ${JSON.stringify(what)}`);
    return next_cursor;
  };

  // ---- listDeals ------------------------------------------------------------------------------
  const dealFilters: Record<string, DealListQuery> = {
    'no filter': {},
    step_id: { step_id: space.stepIds[1]! },
    employee_id: { employee_id: space.employeeIds[0]! },
    'employee_id=unassigned': { employee_id: 'unassigned' },
    customer_id: { customer_id: space.sharedCustomerId! },
    q: { q: SEARCH_WORD.toLowerCase() },
    'q without a trigram': { q: 'ac' },
    'q with step_id': { q: SEARCH_WORD.toLowerCase(), step_id: space.stepIds[1]! },
    updated_since: { updated_since: new Date(Date.now() - 30 * 86_400_000).toISOString() },
  };
  for (const [name, filter] of Object.entries(dealFilters)) {
    const search = filter.q === undefined ? undefined : name.includes('without') ? 'no trigram' : 'trigram';
    for (const sort of dealSorts) {
      add('listDeals', `${name}, sort=${sort}`, (sql) => listDeals(sql, scope, { ...filter, sort, limit: 50 }), search);
      const cursor = await cursorOf(listDeals(db.sql, scope, { ...filter, sort, limit: 2 }), filter);
      add('listDeals', `${name}, sort=${sort}, cursor`, (sql) => listDeals(sql, scope, { ...filter, sort, cursor, limit: 50 }), search);
    }
  }
  const since = new Date(Date.now() - 90 * 86_400_000).toISOString();
  for (const sort of ['updated_at', '-updated_at'] as const) {
    for (const extra of [{}, { updated_since: since }]) {
      const query: DealListQuery = { sort, include_deleted: true, ...extra };
      const label = `include_deleted, sort=${sort}${'updated_since' in extra ? ', updated_since' : ''}`;
      add('listDeals', label, (sql) => listDeals(sql, scope, { ...query, limit: 50 }));
      const cursor = await cursorOf(listDeals(db.sql, scope, { ...query, limit: 2 }), query);
      add('listDeals', `${label}, cursor`, (sql) => listDeals(sql, scope, { ...query, cursor, limit: 50 }));
    }
  }

  // ---- listCustomers --------------------------------------------------------------------------
  const customerFilters: Record<string, CustomerListQuery> = {
    'no filter': {},
    q: { q: 'mill' },
    'q without a trigram': { q: 'mi' },
    email: { email: customerEmail.toUpperCase() },
    updated_since: { updated_since: new Date(Date.now() - 30 * 86_400_000).toISOString() },
    'q with updated_since': { q: 'mill', updated_since: new Date(Date.now() - 30 * 86_400_000).toISOString() },
  };
  for (const [name, filter] of Object.entries(customerFilters)) {
    const search = filter.q === undefined ? undefined : name.includes('without') ? 'no trigram' : 'trigram';
    for (const sort of customerSorts) {
      add('listCustomers', `${name}, sort=${sort}`, (sql) => listCustomers(sql, scope, { ...filter, sort, limit: 50 }), search);
      // One customer has the email: there is no second page to take a cursor from.
      const cursor = name === 'email' ? undefined : await cursorOf(listCustomers(db.sql, scope, { ...filter, sort, limit: 2 }), filter);
      if (cursor)
        add(
          'listCustomers',
          `${name}, sort=${sort}, cursor`,
          (sql) => listCustomers(sql, scope, { ...filter, sort, cursor, limit: 50 }),
          search,
        );
    }
  }

  // ---- single reads ---------------------------------------------------------------------------
  add('findDeal', '', (sql) => findDeal(sql, scope, dealId));
  add('findCustomer', '', (sql) => findCustomer(sql, scope, space.sharedCustomerId!));
  add('listDealStepChanges', '', (sql) => listDealStepChanges(sql, scope, dealId, { limit: 50 }));
  // Each loaded deal has one step change, so no page has a next_cursor: this is the one the
  // server would write after that change.
  const stepChanges = encodeCursor({ key: '2026-01-01T00:00:00.000000Z', id: uuidv7() }, [
    'listDealStepChanges',
    scope.tenantId,
    scope.departmentId,
    dealId,
  ]);
  add('listDealStepChanges', 'cursor', (sql) => listDealStepChanges(sql, scope, dealId, { cursor: stepChanges, limit: 50 }));
  add('findApiKeyGrant', '', (sql) => findApiKeyGrant(sql, Buffer.alloc(32, 7)));
  add('readPriorResponse', '', (sql) => readPriorResponse(sql, scope.tenantId, 'a-key'));
  add('deleteExpiredIdempotencyRecords', '', (sql) => deleteExpiredIdempotencyRecords(sql));

  // ---- writes ---------------------------------------------------------------------------------
  // Each write appends its events (issue #7): an origin and n sorted event ids.
  const stamp = (n: number): EventStamp => ({ origin: { requestId: 'plan-check', apiKeyId: uuidv7() }, ids: eventIds(uuidv7, n) });
  const { rows: linkable } = await db.pool.query<{ id: string }>(
    'SELECT id::text FROM customers WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 2',
    [scope.tenantId],
  );
  const customerIds = linkable.map((c) => c.id);
  const newCustomers = [
    { last_name: 'Doe', first_name: 'John' },
    { last_name: 'Doe', first_name: 'Jane', email: 'jane@example.com' },
  ];
  const dealParts = {
    customers: { customers: newCustomers },
    customer_ids: { customer_ids: customerIds },
    employee_id: { employee_id: space.employeeIds[0]! },
    step_id: { step_id: space.stepIds[2]! },
  };
  const dealInputs: [string, Partial<DealCreate>][] = [
    ['name only', {}],
    ...Object.entries(dealParts),
    ['every part', Object.assign({}, ...Object.values(dealParts))],
  ];
  for (const [name, parts] of dealInputs) {
    for (const key of [undefined, uuidv7()]) {
      const input: DealCreate = { name: 'Plan check', volume: 100, note: 'n', ...parts };
      const idem = key === undefined ? undefined : { key, requestHash: requestHash('createDeal', scope.departmentId, input) };
      const ids = { dealId: uuidv7(), stepChangeId: uuidv7(), customerIds: ('customers' in parts ? newCustomers : []).map(() => uuidv7()) };
      add('insertDeal', `${name}${key ? ', Idempotency-Key' : ''}`, (sql) =>
        insertDeal(sql, scope, input, ids, idem, { ETag: '"1"' }, stamp(ids.customerIds.length + 1)),
      );
    }
  }
  const dealPatches: [string, DealPatch][] = [
    ['name', { name: 'Renamed' }],
    ['volume', { volume: 5 }],
    ['note', { note: null }],
    ['employee_id', { employee_id: space.employeeIds[1]! }],
    ['employee_id=null', { employee_id: null }],
    ['step_id', { step_id: space.stepIds[3]! }],
    ['customer_ids (relink)', { customer_ids: customerIds }],
    ['customer_ids=[] (unlink all)', { customer_ids: [] }],
    [
      'every field',
      { name: 'Renamed', volume: 5, note: 'x', employee_id: space.employeeIds[1]!, step_id: space.stepIds[3]!, customer_ids: customerIds },
    ],
  ];
  for (const [name, patch] of dealPatches) {
    for (const ifMatch of [null, [1]]) {
      add('updateDeal', `${name}${ifMatch ? ', If-Match' : ''}`, (sql) =>
        updateDeal(sql, scope, dealId, patch, ifMatch, uuidv7(), stamp(2)),
      );
    }
  }
  for (const ifMatch of [null, [1]])
    add('deleteDeal', ifMatch ? 'If-Match' : '', (sql) => deleteDeal(sql, scope, dealId, ifMatch, stamp(1)));
  for (const key of [undefined, uuidv7()]) {
    const input = { last_name: 'Doe', first_name: 'Ada', email: 'ada@example.com' };
    const idem = key === undefined ? undefined : { key, requestHash: requestHash('createCustomer', scope.departmentId, input) };
    add('insertCustomer', key ? 'Idempotency-Key' : '', (sql) =>
      insertCustomer(sql, scope, input, uuidv7(), idem, { ETag: '"1"' }, stamp(1)),
    );
  }
  const customerPatches: [string, CustomerPatch][] = [
    ...customerColumns.map((c): [string, CustomerPatch] => [
      c,
      { [c]: c === 'birthday' ? '1990-01-01' : c === 'last_name' ? 'Doe' : null },
    ]),
    ['every field', Object.fromEntries(customerColumns.map((c) => [c, c === 'birthday' ? '1990-01-01' : 'x'])) as CustomerPatch],
  ];
  for (const [name, patch] of customerPatches) {
    for (const ifMatch of [null, [2]]) {
      add('updateCustomer', `${name}${ifMatch ? ', If-Match' : ''}`, (sql) =>
        updateCustomer(sql, scope, space.sharedCustomerId!, patch, ifMatch, stamp(1)),
      );
    }
  }
  // Issue #7's statements, each area in its own file.
  await eventVariants(loaded, add);
  await webhookEndpointVariants(loaded, add);
  await webhookDeliveryVariants(loaded, add);
  return list;
}
