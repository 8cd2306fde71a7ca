// Every operation of the contract, called as each kind of caller: its own department, a key
// not granted the department, another tenant, a revoked key, no key, a malformed department.
// The operation list comes from the contract, so a new operation without a recipe here fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basePath, contract, contractOperations } from '../../src/contract.ts';
import { uuidv7 } from '../../src/ids.ts';
import type { World } from '../support/fixtures.ts';
import { seedWorld } from '../support/fixtures.ts';
import { allPages, idsOf } from '../support/pages.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

type Caller = { key?: string; department?: string };
type Reply = { status: number; headers: Headers; text: string; json: any };
type Request = { method: string; path: string; body?: unknown; headers?: Record<string, string> };

let server: TestServer;
let world: World;

async function send(request: Request, caller: Caller): Promise<Reply> {
  const headers: Record<string, string> = { ...request.headers };
  if (caller.key !== undefined) headers['X-Api-Key'] = caller.key;
  if (caller.department !== undefined) headers['X-Department-Id'] = caller.department;
  if (request.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(server.baseUrl + request.path, {
    method: request.method,
    headers,
    body: request.body === undefined ? undefined : JSON.stringify(request.body),
  });
  const text = await response.text();
  const isJson = /json/.test(response.headers.get('content-type') ?? '');
  return { status: response.status, headers: response.headers, text, json: isJson && text ? JSON.parse(text) : undefined };
}

/** Every row an API call could write, of both tenants: equal before and after means nothing changed. */
async function writableRows(): Promise<string> {
  const { rows } = await server.db.pool.query(`SELECT json_build_object(
    'deals', (SELECT json_agg(x ORDER BY x.tenant_id, x.id) FROM deals x),
    'customers', (SELECT json_agg(x ORDER BY x.tenant_id, x.id) FROM customers x),
    'deal_customers', (SELECT json_agg(x ORDER BY x.tenant_id, x.deal_id, x.customer_id) FROM deal_customers x),
    'deal_step_changes', (SELECT json_agg(x ORDER BY x.tenant_id, x.id) FROM deal_step_changes x),
    'deal_tombstones', (SELECT json_agg(x ORDER BY x.tenant_id, x.id) FROM deal_tombstones x),
    'idempotency_records', (SELECT json_agg(x ORDER BY x.tenant_id, x.key) FROM idempotency_records x),
    'events', (SELECT json_agg(x ORDER BY x.tenant_id, x.id) FROM events x),
    'webhook_endpoints', (SELECT json_agg(x ORDER BY x.tenant_id, x.id) FROM webhook_endpoints x),
    'webhook_deliveries', (SELECT json_agg(x ORDER BY x.tenant_id, x.id) FROM webhook_deliveries x),
    'webhook_attempts', (SELECT json_agg(x ORDER BY x.tenant_id, x.delivery_id, x.attempt) FROM webhook_attempts x)
  )::text AS rows`);
  return rows[0].rows;
}

function expectProblem(reply: Reply, status: number, path: string) {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(reply.headers.get('x-request-id')).toBeTruthy();
  expect(reply.json).toMatchObject({ status, instance: basePath + path.split('?')[0] });
}

/** The body with the reply's own request id (header and body) masked: it differs per request by design. */
function comparableText(reply: Reply): string {
  const requestId = reply.headers.get('x-request-id');
  return requestId ? reply.text.replaceAll(requestId, '<request id>') : reply.text;
}

/** Headers a user could compare, without the ones that differ per request by design. */
function comparableHeaders(reply: Reply): Record<string, string> {
  const headers: Record<string, string> = {};
  reply.headers.forEach((value, name) => {
    if (name !== 'x-request-id' && name !== 'date') headers[name] = value;
  });
  return headers;
}

// ---- the objects of our tenant and department -------------------------------------------

type Fixture = {
  customer: { id: string };
  deal: { id: string };
  /** Second objects, so that each list of ours has more than one page at NEGATIVE_LIMIT. */
  secondCustomer: { id: string };
  secondDeal: { id: string };
  /** Deleted by deleteDeal's own-department call; the other cases must leave `deal` alone. */
  dealToDelete: { id: string };
  /** The deal.created event of `deal`, and the customer.created event of `customer` (tenant-wide). */
  event: { id: string };
  customerEvent: { id: string };
  endpoint: { id: string };
  secondEndpoint: { id: string };
  /** Deleted by deleteWebhookEndpoint's own-department call. */
  endpointToDelete: { id: string };
};
let ours: Fixture;

/** The other tenant's own objects, two of each, so that its lists have more than one page. */
type Theirs = { customers: { id: string }[]; deals: { id: string }[]; events: { id: string }[]; endpoints: { id: string }[] };
let theirs: Theirs;

/**
 * The page size of lists read to show that something is NOT in them: every page is read
 * (allPages), and with this limit every such list has several, so a leak past the first page
 * would be seen.
 */
const NEGATIVE_LIMIT = 1;

const own = (): Caller => ({ key: world.apiKey, department: world.department.id });
const otherTenant = (): Caller => ({ key: world.otherTenant.api_key, department: world.otherTenant.departments[0]!.id });
/** Our tenant's other department: the demo key is granted both, only X-Department-Id changes. */
const departmentB = (): Caller => ({ key: world.apiKey, department: world.otherDepartment.id });

/** Every page of `path` as `caller` sees it, NEGATIVE_LIMIT items to a page. */
async function everyPage(path: string, caller: Caller) {
  const walk = await allPages((p) => send({ method: 'GET', path: p }, caller), `${path}?limit=${NEGATIVE_LIMIT}`);
  expect(walk.pages.length, `${path} as seen by this caller has more than one page`).toBeGreaterThan(1);
  return idsOf(walk.items);
}

async function created(reply: Reply): Promise<{ id: string }> {
  expect(reply.status, reply.text).toBe(201);
  return reply.json;
}

// ---- how to call each operation ------------------------------------------------------------

type Kind =
  /** One object of ours, named in the path: another tenant gets 404. */
  | 'single'
  /** A page of the scope's objects: another tenant gets 200 without any of ours. */
  | 'list'
  /** Creates in the caller's scope. */
  | 'create';

type Recipe = {
  kind: Kind;
  /** Path parameters naming our objects. */
  params?: (f: Fixture, purpose: 'success' | 'negative') => Record<string, string>;
  body?: (f: Fixture) => unknown;
  /** For lists: the ids of our objects that the page shows to us. */
  ourIds?: (f: Fixture) => string[];
  /** For lists: the ids of the other tenant's objects that the page shows to it. */
  theirIds?: (t: Theirs) => string[];
  /** False when the success answer does not name the path's object (a log, a test send's result). */
  namesParams?: false;
};

const recipes: Record<string, Recipe> = {
  listDeals: { kind: 'list', ourIds: (f) => [f.deal.id, f.secondDeal.id], theirIds: (t) => idsOf(t.deals) },
  createDeal: {
    kind: 'create',
    body: (f) => ({ name: 'Matrix deal', volume: 7, step_id: world.department.steps[1]!.id, customer_ids: [f.customer.id] }),
  },
  getDeal: { kind: 'single', params: (f) => ({ deal_id: f.deal.id }) },
  updateDeal: { kind: 'single', params: (f) => ({ deal_id: f.deal.id }), body: () => ({ volume: 4242, note: 'matrix' }) },
  deleteDeal: { kind: 'single', params: (f, purpose) => ({ deal_id: purpose === 'success' ? f.dealToDelete.id : f.deal.id }) },
  listDealStepChanges: { kind: 'single', params: (f) => ({ deal_id: f.deal.id }) },
  listCustomers: { kind: 'list', ourIds: (f) => [f.customer.id, f.secondCustomer.id], theirIds: (t) => idsOf(t.customers) },
  createCustomer: { kind: 'create', body: () => ({ last_name: 'Matrix', email: 'matrix@example.com' }) },
  getCustomer: { kind: 'single', params: (f) => ({ customer_id: f.customer.id }) },
  updateCustomer: { kind: 'single', params: (f) => ({ customer_id: f.customer.id }), body: () => ({ note: 'matrix' }) },
  listSteps: {
    kind: 'list',
    ourIds: () => world.department.steps.map((s) => s.id),
    theirIds: () => world.otherTenant.departments[0]!.steps.map((s) => s.id),
  },
  listEmployees: {
    kind: 'list',
    ourIds: () => world.department.employees.map((e) => e.id),
    theirIds: () => world.otherTenant.departments[0]!.employees.map((e) => e.id),
  },
  listEvents: { kind: 'list', ourIds: (f) => [f.event.id, f.customerEvent.id], theirIds: (t) => idsOf(t.events) },
  getEvent: { kind: 'single', params: (f) => ({ event_id: f.event.id }) },
  redeliverEvent: { kind: 'single', params: (f) => ({ event_id: f.event.id }), body: (f) => ({ endpoint_id: f.endpoint.id }) },
  listWebhookEndpoints: {
    kind: 'list',
    ourIds: (f) => [f.endpoint.id, f.secondEndpoint.id],
    theirIds: (t) => idsOf(t.endpoints),
  },
  createWebhookEndpoint: { kind: 'create', body: () => ({ url: RECEIVER_URL, enabled_events: ['*'] }) },
  getWebhookEndpoint: { kind: 'single', params: (f) => ({ endpoint_id: f.endpoint.id }) },
  updateWebhookEndpoint: { kind: 'single', params: (f) => ({ endpoint_id: f.endpoint.id }), body: () => ({ description: 'matrix' }) },
  deleteWebhookEndpoint: {
    kind: 'single',
    params: (f, purpose) => ({ endpoint_id: purpose === 'success' ? f.endpointToDelete.id : f.endpoint.id }),
  },
  rotateWebhookSecret: {
    kind: 'single',
    params: (f) => ({ endpoint_id: f.endpoint.id }),
    body: () => ({ grace_period_seconds: 0 }),
  },
  listWebhookDeliveries: { kind: 'single', params: (f) => ({ endpoint_id: f.endpoint.id }), namesParams: false },
  recoverWebhookEndpoint: {
    kind: 'single',
    params: (f) => ({ endpoint_id: f.endpoint.id }),
    body: () => ({ since: '2026-01-01T00:00:00Z' }),
    namesParams: false,
  },
  testWebhookEndpoint: { kind: 'single', params: (f) => ({ endpoint_id: f.endpoint.id }), namesParams: false },
};

/** Nothing listens there (the discard port): sends fail fast, which no case here looks at. */
const RECEIVER_URL = 'http://127.0.0.1:9/matrix';

type Operation = (typeof contractOperations)[number];

function recipeOf(op: Operation): Recipe {
  const recipe = recipes[op.operationId];
  if (!recipe) throw new Error(`operation ${op.operationId} of the contract has no recipe in this matrix: add one`);
  return recipe;
}

function pathOf(op: Operation, params: Record<string, string>): string {
  return op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`the recipe of ${op.operationId} does not fill {${name}}`);
    return value;
  });
}

function requestOf(op: Operation, purpose: 'success' | 'negative', params?: Record<string, string>): Request {
  const recipe = recipeOf(op);
  const path = pathOf(op, params ?? recipe.params?.(ours, purpose) ?? {});
  return {
    method: op.method,
    path: recipe.kind === 'list' ? `${path}?limit=100` : path,
    ...(recipe.body ? { body: recipe.body(ours) } : {}),
  };
}

/** The contract's success status of the operation. */
function successStatus(op: Operation): number {
  const item = contract.paths[op.path]![op.method.toLowerCase()] as { responses?: Record<string, unknown> };
  const codes = Object.keys(item.responses ?? {}).filter((s) => s.startsWith('2'));
  expect(codes, `${op.operationId} has one success status`).toHaveLength(1);
  return Number(codes[0]);
}

const isWrite = (op: Operation) => op.method !== 'GET';

/** Sends a request that must not change a row (for a write: checked by SQL). */
async function sendUnchanged(op: Operation, request: Request, caller: Caller): Promise<Reply> {
  const before = isWrite(op) ? await writableRows() : '';
  const reply = await send(request, caller);
  if (isWrite(op)) expect(await writableRows(), `${op.operationId} changed rows`).toBe(before);
  return reply;
}

/**
 * Our object's 404 against the 404 for an id that exists nowhere: the same status, headers
 * and bytes (once the random id in `instance` is our id), so nothing tells them apart.
 */
async function expectSameAsMissing(op: Operation, caller: Caller): Promise<void> {
  const recipe = recipeOf(op);
  const ourParams = recipe.params!(ours, 'negative');
  const missingParams = Object.fromEntries(Object.keys(ourParams).map((name) => [name, uuidv7()]));
  const forOurs = await sendUnchanged(op, requestOf(op, 'negative', ourParams), caller);
  const forMissing = await sendUnchanged(op, requestOf(op, 'negative', missingParams), caller);
  expectProblem(forOurs, 404, pathOf(op, ourParams));
  let missingText = comparableText(forMissing);
  for (const name of Object.keys(ourParams)) missingText = missingText.replaceAll(missingParams[name]!, ourParams[name]!);
  expect(comparableText(forOurs)).toBe(missingText);
  expect(comparableHeaders(forOurs)).toEqual(comparableHeaders(forMissing));
}

beforeAll(async () => {
  server = await startTestServer();
  world = await seedWorld(server.db);
  const customer = await created(
    await send({ method: 'POST', path: '/customers', body: { last_name: 'Ours', first_name: 'Olga' } }, own()),
  );
  const dealBody = { name: 'Our deal', volume: 1000, customer_ids: [customer.id], employee_id: world.department.employees[0]!.id };
  const deal = await created(await send({ method: 'POST', path: '/deals', body: dealBody }, own()));
  const dealToDelete = await created(await send({ method: 'POST', path: '/deals', body: { name: 'Doomed deal' } }, own()));
  const secondCustomer = await created(await send({ method: 'POST', path: '/customers', body: { last_name: 'Ours too' } }, own()));
  const secondDeal = await created(await send({ method: 'POST', path: '/deals', body: { name: 'Our second deal' } }, own()));
  const endpointBody = { url: RECEIVER_URL, enabled_events: ['*'] };
  const endpoint = await created(await send({ method: 'POST', path: '/webhook-endpoints', body: endpointBody }, own()));
  const secondEndpoint = await created(await send({ method: 'POST', path: '/webhook-endpoints', body: endpointBody }, own()));
  const endpointToDelete = await created(await send({ method: 'POST', path: '/webhook-endpoints', body: endpointBody }, own()));
  const event = await eventOf('deal.created', deal.id, own());
  const customerEvent = await eventOf('customer.created', customer.id, own());
  ours = { customer, deal, dealToDelete, secondCustomer, secondDeal, event, customerEvent, endpoint, secondEndpoint, endpointToDelete };
  theirs = { customers: [], deals: [], events: [], endpoints: [] };
  for (const n of [1, 2]) {
    theirs.customers.push(
      await created(await send({ method: 'POST', path: '/customers', body: { last_name: `Theirs ${n}` } }, otherTenant())),
    );
    theirs.deals.push(await created(await send({ method: 'POST', path: '/deals', body: { name: `Their deal ${n}` } }, otherTenant())));
    // Department B of our tenant has deals of its own, so that its list has pages too.
    await created(await send({ method: 'POST', path: '/deals', body: { name: `B deal ${n}` } }, departmentB()));
    theirs.endpoints.push(await created(await send({ method: 'POST', path: '/webhook-endpoints', body: endpointBody }, otherTenant())));
  }
  for (const deal of theirs.deals) theirs.events.push(await eventOf('deal.created', deal.id, otherTenant()));
});
afterAll(async () => {
  await server?.close();
});

/**
 * The event of `type` about `resourceId`, once the feed serves it: it serves an event only when
 * no older transaction is still running anywhere on the database server (other test files'
 * included), so it may take a moment after the write's answer.
 */
async function eventOf(type: string, resourceId: string, caller: Caller): Promise<{ id: string }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const reply = await send({ method: 'GET', path: `/events?resource_id=${resourceId}&types=${type}&limit=100` }, caller);
    expect(reply.status, reply.text).toBe(200);
    const found = (reply.json.data as { id: string; type: string }[]).find((e) => e.type === type);
    if (found) return { id: found.id };
    if (Date.now() > deadline) throw new Error(`no ${type} event of ${resourceId} in the feed after 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the operation matrix', () => {
  it('has a recipe for every operation of the contract, and for no other', () => {
    expect(Object.keys(recipes).sort()).toEqual(contractOperations.map((o) => o.operationId).sort());
  });
});

describe.each(contractOperations)('$operationId ($method $path)', (op) => {
  describe('2xx', () => {
    it("own department: answers the contract's success status", async () => {
      const recipe = recipeOf(op);
      const reply = await send(requestOf(op, 'success'), own());
      expect(reply.status, reply.text).toBe(successStatus(op));
      if (recipe.kind === 'list') {
        const ids = (reply.json.data as { id: string }[]).map((x) => x.id);
        expect(ids).toEqual(expect.arrayContaining(recipe.ourIds!(ours)));
      }
      // A single object's answer is about that object (204 has no body to show it).
      for (const id of Object.values(recipe.params?.(ours, 'success') ?? {})) {
        if (reply.status !== 204 && recipe.namesParams !== false) expect(reply.text).toContain(id);
      }
    });
  });

  describe('400', () => {
    it('a valid key with an X-Department-Id that is not a UUID, or none; nothing written', async () => {
      const request = requestOf(op, 'negative');
      const malformed = await sendUnchanged(op, request, { key: world.apiKey, department: 'not-a-uuid' });
      const missing = await sendUnchanged(op, request, { key: world.apiKey });
      expectProblem(malformed, 400, request.path);
      expect(malformed.json.type).toBe('https://deals-api.dev/problems/malformed-request');
      expectProblem(missing, 400, request.path);
      expect(comparableText(missing)).toBe(comparableText(malformed));
    });
  });

  describe('401', () => {
    it('no key, an unknown key, a revoked key: the same problem; nothing written', async () => {
      const request = requestOf(op, 'negative');
      const department = world.department.id;
      const replies = [
        await sendUnchanged(op, request, { department }),
        await sendUnchanged(op, request, { key: 'deals_unknown_key', department }),
        await sendUnchanged(op, request, { key: world.revokedKey, department }),
      ];
      for (const reply of replies) {
        expectProblem(reply, 401, request.path);
        expect(reply.json.type).toBe('https://deals-api.dev/problems/unauthenticated');
        expect(comparableText(reply)).toBe(comparableText(replies[0]!));
      }
    });
  });

  describe('403', () => {
    it('a key not granted the department, whether the department exists or not: the same problem; nothing written', async () => {
      const request = requestOf(op, 'negative');
      const replies = [
        // Our tenant's key for the other department only.
        await sendUnchanged(op, request, { key: world.otherDepartmentKey, department: world.department.id }),
        // The demo key, for a department that exists nowhere.
        await sendUnchanged(op, request, { key: world.apiKey, department: uuidv7() }),
        // Another tenant's key, for our department.
        await sendUnchanged(op, request, { key: world.otherTenant.api_key, department: world.department.id }),
      ];
      for (const reply of replies) {
        expectProblem(reply, 403, request.path);
        expect(reply.json.type).toBe('https://deals-api.dev/problems/department-forbidden');
        const { instance: _ignored, request_id: _id, ...rest } = reply.json;
        const { instance: _first, request_id: _firstId, ...first } = replies[0]!.json;
        expect(rest).toEqual(first);
        expect(comparableHeaders(reply)).toEqual(comparableHeaders(replies[0]!));
      }
    });
  });

  const kind = recipes[op.operationId]?.kind;
  if (kind === 'single') {
    describe('404', () => {
      it("another tenant's key in its own department, for our object: the same answer as for an id that does not exist; nothing written", async () => {
        await expectSameAsMissing(op, otherTenant());
      });
    });
  }
  if (kind === 'list') {
    describe('200', () => {
      it("another tenant's key in its own department: no page has any of our objects, and none of ours has theirs", async () => {
        const recipe = recipeOf(op);
        const theirList = await everyPage(op.path, otherTenant());
        expect(theirList).toEqual(expect.arrayContaining(recipe.theirIds!(theirs)));
        for (const id of recipe.ourIds!(ours)) expect(theirList).not.toContain(id);
        const ourList = await everyPage(op.path, own());
        expect(ourList).toEqual(expect.arrayContaining(recipe.ourIds!(ours)));
        for (const id of recipe.theirIds!(theirs)) expect(ourList).not.toContain(id);
      });
    });
  }
});

describe('another tenant creating', () => {
  describe('422', () => {
    it('createDeal: a deal with our step and our customer is refused, nothing written', async () => {
      const before = await writableRows();
      const reply = await send(
        {
          method: 'POST',
          path: '/deals',
          body: { name: 'Foreign', step_id: world.department.steps[0]!.id, customer_ids: [ours.customer.id] },
        },
        otherTenant(),
      );
      expectProblem(reply, 422, '/deals');
      expect(Object.keys(reply.json.errors).sort()).toEqual(['customer_ids.0', 'step_id']);
      expect(await writableRows()).toBe(before);
    });
  });

  describe('201', () => {
    it("createCustomer: the customer is the other tenant's, invisible to us", async () => {
      const reply = await send({ method: 'POST', path: '/customers', body: { last_name: 'Theirs' } }, otherTenant());
      expect(reply.status, reply.text).toBe(201);
      expect(reply.json.tenant_id).toBe(world.otherTenant.tenant_id);
      const { rows } = await server.db.pool.query('SELECT tenant_id::text FROM customers WHERE id = $1', [reply.json.id]);
      expect(rows).toEqual([{ tenant_id: world.otherTenant.tenant_id }]);
      expect((await send({ method: 'GET', path: `/customers/${reply.json.id}` }, own())).status).toBe(404);
      expect(await everyPage('/customers', own())).not.toContain(reply.json.id);
    });
  });
});

describe('departments of one tenant', () => {
  const operation = (id: string) => contractOperations.find((o) => o.operationId === id)!;

  describe('404', () => {
    it.each([
      'getDeal',
      'updateDeal',
      'deleteDeal',
      'listDealStepChanges',
      'getEvent',
      'redeliverEvent',
      'getWebhookEndpoint',
      'updateWebhookEndpoint',
      'deleteWebhookEndpoint',
      'rotateWebhookSecret',
      'listWebhookDeliveries',
      'recoverWebhookEndpoint',
      'testWebhookEndpoint',
    ])("%s: department A's deal from department B is answered like a deal that does not exist; nothing written", async (operationId) => {
      await expectSameAsMissing(operation(operationId), departmentB());
    });
  });

  describe('200', () => {
    it("listDeals: department A's deals are on no page of department B's list, nor B's on A's", async () => {
      const listB = await everyPage('/deals', departmentB());
      for (const id of [ours.deal.id, ours.secondDeal.id]) expect(listB).not.toContain(id);
      const listA = await everyPage('/deals', own());
      for (const id of listB) expect(listA).not.toContain(id);
    });

    it('getCustomer: a customer is the same from both departments (customers are tenant-wide)', async () => {
      const fromA = await send({ method: 'GET', path: `/customers/${ours.customer.id}` }, own());
      const fromB = await send({ method: 'GET', path: `/customers/${ours.customer.id}` }, departmentB());
      expect(fromA.status).toBe(200);
      expect(fromB.status).toBe(200);
      expect(fromB.text).toBe(fromA.text);
      expect(fromB.headers.get('etag')).toBe(fromA.headers.get('etag'));
    });

    it("getEvent: a customer's event is the same from both departments (customer events are tenant-wide)", async () => {
      const fromA = await send({ method: 'GET', path: `/events/${ours.customerEvent.id}` }, own());
      const fromB = await send({ method: 'GET', path: `/events/${ours.customerEvent.id}` }, departmentB());
      expect(fromA.status, fromA.text).toBe(200);
      expect(fromB.status, fromB.text).toBe(200);
      expect(fromB.text).toBe(fromA.text);
    });

    it("listEvents and listWebhookEndpoints: department A's deal events and endpoints are on no page of department B's", async () => {
      const eventsB = await everyPage('/events', departmentB());
      expect(eventsB).not.toContain(ours.event.id);
      expect(eventsB).toContain(ours.customerEvent.id);
      const endpointsB = await allPages((p) => send({ method: 'GET', path: p }, departmentB()), '/webhook-endpoints?limit=1');
      for (const id of [ours.endpoint.id, ours.secondEndpoint.id]) expect(idsOf(endpointsB.items)).not.toContain(id);
    });

    it('listCustomers: both departments list the customer', async () => {
      for (const caller of [own(), departmentB()]) {
        const reply = await send({ method: 'GET', path: '/customers?limit=100' }, caller);
        expect((reply.json.data as { id: string }[]).map((c) => c.id)).toContain(ours.customer.id);
      }
    });
  });

  describe('201', () => {
    it("createDeal: department B links department A's customer", async () => {
      const reply = await send(
        { method: 'POST', path: '/deals', body: { name: 'B deal', customer_ids: [ours.customer.id] } },
        departmentB(),
      );
      expect(reply.status, reply.text).toBe(201);
      expect(reply.json.department_id).toBe(world.otherDepartment.id);
      expect(reply.json.customers.map((c: { id: string }) => c.id)).toEqual([ours.customer.id]);
    });
  });

  describe('422', () => {
    it("createDeal: department B cannot use department A's step or employee; nothing written", async () => {
      const before = await writableRows();
      const reply = await send(
        {
          method: 'POST',
          path: '/deals',
          body: { name: 'B deal', step_id: world.department.steps[0]!.id, employee_id: world.department.employees[0]!.id },
        },
        departmentB(),
      );
      expectProblem(reply, 422, '/deals');
      expect(Object.keys(reply.json.errors).sort()).toEqual(['employee_id', 'step_id']);
      expect(await writableRows()).toBe(before);
    });
  });
});
