// Objects for hostile tests to aim at: customers, deals (some moved through the pipeline,
// some deleted), objects of another department and another tenant, and real and tampered
// pagination cursors. Everything is created through the API, as a partner would.
import { seedWorld, type World } from '../support/fixtures.ts';
import { client, type Reply } from '../support/http.ts';
import type { TestServer } from '../support/server.ts';

export type HostileWorld = {
  world: World;
  call: ReturnType<typeof client>;
  customerIds: string[];
  customerEmails: string[];
  /** Deals that stay: targets of reads and updates. */
  dealIds: string[];
  /** Deals that fuzzed DELETEs may take away. */
  deletableDealIds: string[];
  otherDepartmentDealId: string;
  otherTenantDealId: string;
  otherTenantCustomerId: string;
  /** next_cursor values of every list operation, for several sorts. */
  cursors: string[];
  /** A next_cursor of the other tenant's deal list. */
  otherTenantCursor: string;
  /** Real cursors with a field changed but the query fingerprint kept. */
  tamperedCursors: string[];
  /** Webhook endpoints of ours that stay (URL: a closed port on 127.0.0.1), and one of the other tenant. */
  endpointIds: string[];
  /** Webhook endpoints that fuzzed DELETEs may take away. */
  deletableEndpointIds: string[];
  otherTenantEndpointId: string;
  /** Events of ours, of the other department and of the other tenant. */
  eventIds: string[];
};

// Names that mean something to SQL, LIKE or regular expressions, to search for literally.
export const TRICKY_NAMES = [
  "O'Brien",
  '100% Sure',
  'under_score',
  'back\\slash',
  'Dot.Star',
  '(paren',
  '[bracket',
  '$$money',
  ';DROP TABLE deals;',
  'Ünïcödé 😀',
  "' OR 1=1 --",
  'plain',
];

async function inBatches<T, R>(items: T[], size: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    results.push(...(await Promise.all(items.slice(i, i + size).map((item, j) => work(item, i + j)))));
  }
  return results;
}

function created(reply: Reply, what: string): { id: string } {
  if (reply.status !== 201) throw new Error(`setup: creating ${what} answered ${reply.status}: ${reply.text.slice(0, 300)}`);
  return reply.json as { id: string };
}

export function tamperCursor(cursor: string, change: Record<string, unknown>): string {
  const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
  return Buffer.from(JSON.stringify({ ...decoded, ...change })).toString('base64url');
}

export async function buildHostileWorld(server: TestServer, sizes = { customers: 30, deals: 40, deletable: 60 }): Promise<HostileWorld> {
  const world = await seedWorld(server.db);
  const call = client(server.baseUrl, { apiKey: world.apiKey, departmentId: world.department.id });
  const steps = world.department.steps;
  const employees = world.department.employees;

  const customers = await inBatches(Array.from({ length: sizes.customers }), 4, async (_, i) =>
    created(
      await call('POST', '/customers', {
        body: {
          last_name: TRICKY_NAMES[i % TRICKY_NAMES.length]!,
          first_name: `First${i}`,
          email: `customer${i}@fuzz.example`,
          company: i % 3 === 0 ? 'Acme 100%' : null,
          birthday: i % 4 === 0 ? '1980-04-12' : null,
        },
      }),
      'a customer',
    ),
  );
  const customerIds = customers.map((c) => c.id);

  const dealBody = (i: number) => ({
    name: `${TRICKY_NAMES[i % TRICKY_NAMES.length]} deal ${i}`,
    volume: i % 5 === 0 ? Number.MAX_SAFE_INTEGER - i : i * 1000,
    note: i % 2 ? 'note' : null,
    employee_id: i % 3 ? employees[i % employees.length]!.id : null,
    step_id: steps[i % steps.length]!.id,
    customer_ids: customerIds.slice(i % customerIds.length, (i % customerIds.length) + (i % 4)),
  });
  const deals = await inBatches(Array.from({ length: sizes.deals + sizes.deletable }), 4, async (_, i) =>
    created(await call('POST', '/deals', { body: dealBody(i) }), 'a deal'),
  );
  const dealIds = deals.slice(0, sizes.deals).map((d) => d.id);
  const deletableDealIds = deals.slice(sizes.deals).map((d) => d.id);
  // A history of step changes, and tombstones for incremental sync.
  await inBatches(dealIds.slice(0, 10), 4, (id, i) =>
    call('PATCH', `/deals/${id}`, { body: { step_id: steps[(i + 1) % steps.length]!.id } }),
  );
  const doomed = await inBatches(Array.from({ length: 3 }), 3, async (_, i) =>
    created(await call('POST', '/deals', { body: { name: `doomed ${i}` } }), 'a deal'),
  );
  await inBatches(doomed, 3, (d) => call('DELETE', `/deals/${d.id}`));

  const otherDepartmentDealId = created(
    await call('POST', '/deals', { body: { name: 'elsewhere' }, departmentId: world.otherDepartment.id }),
    'a deal',
  ).id;
  const otherTenant = { apiKey: world.otherTenant.api_key, departmentId: world.otherTenant.departments[0]!.id };
  const otherTenantDealId = created(await call('POST', '/deals', { body: { name: 'foreign' }, ...otherTenant }), 'a deal').id;
  created(await call('POST', '/deals', { body: { name: 'foreign 2' }, ...otherTenant }), 'a deal');
  const otherTenantCustomerId = created(
    await call('POST', '/customers', { body: { last_name: 'Foreign' }, ...otherTenant }),
    'a customer',
  ).id;

  // Webhook endpoints whose deliveries fail fast (nothing listens on port 9): the test sends run.
  const endpointBody = { url: 'http://127.0.0.1:9/fuzz', enabled_events: ['*'] };
  const endpoints = await inBatches(Array.from({ length: 6 }), 3, async () =>
    created(await call('POST', '/webhook-endpoints', { body: endpointBody }), 'a webhook endpoint'),
  );
  const endpointIds = endpoints.slice(0, 3).map((e) => e.id);
  const deletableEndpointIds = endpoints.slice(3).map((e) => e.id);
  const otherTenantEndpointId = created(
    await call('POST', '/webhook-endpoints', { body: endpointBody, ...otherTenant }),
    'a webhook endpoint',
  ).id;
  const eventsOf = async (options: Parameters<typeof call>[2] = {}) => {
    const reply = await call('GET', '/events?limit=20', options);
    return ((reply.json as { data?: { id: string }[] } | undefined)?.data ?? []).map((e) => e.id);
  };
  const eventIds = [
    ...(await eventsOf()),
    ...(await eventsOf({ departmentId: world.otherDepartment.id })).slice(-2),
    ...(await eventsOf(otherTenant)).slice(-2),
  ];

  const cursorOf = async (path: string, options: Parameters<typeof call>[2] = {}) => {
    const reply = await call('GET', path, options);
    const cursor = (reply.json as { next_cursor?: string | null } | undefined)?.next_cursor;
    if (reply.status !== 200 || typeof cursor !== 'string')
      throw new Error(`setup: no next_cursor from ${path}: ${reply.status} ${reply.text.slice(0, 200)}`);
    return cursor;
  };
  const dealSorts = ['created_at', '-created_at', 'updated_at', '-updated_at', 'volume', '-volume', 'name', '-name'];
  const customerSorts = ['created_at', '-created_at', 'updated_at', '-updated_at', 'last_name', '-last_name'];
  const cursors = [
    ...(await Promise.all(dealSorts.map((sort) => cursorOf(`/deals?limit=1&sort=${sort}`)))),
    ...(await Promise.all(customerSorts.map((sort) => cursorOf(`/customers?limit=1&sort=${sort}`)))),
    await cursorOf('/deals?limit=1&sort=updated_at&include_deleted=true'),
    await cursorOf('/steps?limit=1'),
    await cursorOf('/employees?limit=1'),
    await cursorOf(`/deals/${dealIds[0]}/step-changes?limit=1`),
    await cursorOf('/events?limit=1'),
    await cursorOf('/webhook-endpoints?limit=1'),
  ];
  const otherTenantCursor = await cursorOf('/deals?limit=1', otherTenant);
  // The fingerprint `f` binds a cursor to its query; the sort key `k` and id `i` it does not
  // protect, so a client can hand back any value in them.
  const tamperedCursors = cursors.flatMap((cursor) =>
    [
      { k: 'garbage' },
      { k: '' },
      { k: '\u0000' },
      { k: '1e999' },
      { k: '99999999999999999999' },
      { k: ['x'] },
      { i: 'not-a-uuid' },
      { f: 'x' },
    ]
      .map((change) => tamperCursor(cursor, change))
      .filter((c) => c.length <= 512),
  );

  return {
    world,
    call,
    customerIds,
    customerEmails: customerIds.map((_, i) => `customer${i}@fuzz.example`),
    dealIds,
    deletableDealIds,
    otherDepartmentDealId,
    otherTenantDealId,
    otherTenantCustomerId,
    cursors,
    otherTenantCursor,
    tamperedCursors,
    endpointIds,
    deletableEndpointIds,
    otherTenantEndpointId,
    eventIds,
  };
}
