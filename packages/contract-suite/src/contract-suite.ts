// The contract suite: the client, over real HTTP, against anything that serves openapi/deals.yaml.
// It runs against the Prism mock (apps/mock) and the real server (apps/server), so it asserts only
// what the contract promises and both keep: statuses, content types, bodies that validate against
// the operation's schema, and values that follow from the request. Ids are never hard-coded: each
// test uses what an earlier call returned (the mock returns the examples' ids, a server new ones).
import type { Customer, Deal, DealCreate, OperationId, paths } from '@deals/api-types';
import { createDealsClient, type DealsClient } from '@deals/client';
import createClient from 'openapi-fetch';
import { beforeAll, describe, expect, it } from 'vitest';
import { contractValidator } from './contract-validator.ts';

export interface ContractTarget {
  /** The API base, e.g. `http://127.0.0.1:4010/api/v1/integration`. */
  baseUrl: string;
  apiKey: string;
  departmentId: string;
  /**
   * A department the key was not granted. The shared suite does not use it: Prism does not check
   * departments, so no cross-department answer holds for both targets; server tests may.
   */
  otherDepartmentId?: string;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Outcome {
  response: Response;
  data?: unknown;
  error?: unknown;
}

export function defineContractSuite(name: string, target: () => Promise<ContractTarget>): void {
  const contract = contractValidator();
  const referenceRequest = contract.requestExample('createDeal', 'reference') as DealCreate;
  const referenceDeal = contract.example('ReferenceDeal') as Deal;

  describe(`contract suite: ${name}`, () => {
    let config: ContractTarget;
    let deals: DealsClient;
    // What earlier tests created, for the tests that read, change and delete it.
    const created: { deal?: Deal; dealEtag?: string; customer?: Customer } = {};

    beforeAll(async () => {
      config = await target();
      // No retries: the suite asserts what the server answered, not what a retry turned it into.
      deals = createDealsClient({ baseUrl: config.baseUrl, apiKey: config.apiKey, departmentId: config.departmentId, retry: false });
    });

    /** Without X-Api-Key and X-Department-Id: a plain openapi-fetch client, typed by the same paths. */
    const anonymous = () => createClient<paths>({ baseUrl: config.baseUrl });

    /** The status, and that status, content type, declared headers and body keep the contract. */
    function expectContract(operationId: OperationId, outcome: Outcome, status: number) {
      const { response } = outcome;
      const body = outcome.data ?? outcome.error;
      expect(response.status, `${operationId}: ${JSON.stringify(body)?.slice(0, 500)}`).toBe(status);
      contract.assertResponse(operationId, { status: response.status, headers: response.headers, body });
      expect(response.headers.get('X-Request-Id'), 'every response carries X-Request-Id').toBeTruthy();
    }

    function need<T>(value: T | undefined, what: string): T {
      if (value === undefined) throw new Error(`needs ${what}, which failed or did not run`);
      return value;
    }

    describe('createDeal', () => {
      it('201: creates the reference page’s deal, shaped like the reference response', async () => {
        const result = await deals.POST('/deals', { body: referenceRequest });

        expectContract('createDeal', result, 201);
        expect(result.response.headers.get('content-type')).toMatch(/^application\/json\b/);
        expect(result.response.headers.get('ETag'), 'single-resource responses carry an ETag').toBeTruthy();
        const deal = need(result.data, 'a body');
        // Kept before the detailed checks: later tests need the deal even if one of those fails.
        created.deal = deal;
        expect(Object.keys(deal).sort()).toEqual(Object.keys(referenceDeal).sort());
        expect(deal).toMatchObject({
          name: referenceRequest.name,
          volume: referenceRequest.volume,
          note: referenceRequest.note,
          employee_id: null,
          employee_name: null,
          department_id: config.departmentId,
        });
        expect(deal.customers.map((c) => ({ last_name: c.last_name, first_name: c.first_name }))).toEqual(referenceRequest.customers);
        for (const customer of deal.customers)
          expect(Object.keys(customer).sort()).toEqual(Object.keys(referenceDeal.customers[0] ?? {}).sort());
        for (const timestamp of [deal.created_at, deal.updated_at, ...deal.customers.flatMap((c) => [c.created_at, c.updated_at])])
          expect(timestamp).toMatch(TIMESTAMP);
        const ids = [deal.id, ...deal.customers.map((c) => c.id)];
        for (const id of ids) expect(id).toMatch(UUID_V7);
        expect(new Set(ids).size).toBe(ids.length);
      });

      it('401: without X-Api-Key and X-Department-Id, as a problem', async () => {
        const result = await anonymous().POST('/deals', { body: referenceRequest });

        expectContract('createDeal', result, 401);
        expect(result.response.headers.get('content-type')).toMatch(/^application\/problem\+json\b/);
        expect(result.error).toMatchObject({ status: 401 });
      });

      it('422: a customer without last_name, with message and field errors', async () => {
        // Deliberately breaks DealCreate: the cast is the point of the test.
        const body = { name: referenceRequest.name, customers: [{ first_name: 'John' }] } as unknown as DealCreate;
        const result = await deals.POST('/deals', { body });

        expectContract('createDeal', result, 422);
        expect(result.response.headers.get('content-type')).toMatch(/^application\/problem\+json\b/);
        expect(result.error).toMatchObject({ status: 422, message: 'validation error' });
        expect(result.error?.errors).toEqual(
          expect.objectContaining({ 'customers.0.last_name': expect.arrayContaining([expect.any(String)]) }),
        );
      });
    });

    describe('getDeal', () => {
      it('200: returns the created deal with its ETag', async () => {
        const deal = need(created.deal, 'createDeal 201');
        const result = await deals.GET('/deals/{deal_id}', { params: { path: { deal_id: deal.id } } });

        expectContract('getDeal', result, 200);
        expect(result.data).toMatchObject({
          id: deal.id,
          name: deal.name,
          customers: deal.customers.map((c) => expect.objectContaining({ id: c.id })),
        });
        created.dealEtag = need(result.response.headers.get('ETag') ?? undefined, 'an ETag header');
      });
    });

    describe('updateDeal', () => {
      it('200: changes the fields sent, under If-Match with the ETag read', async () => {
        const deal = need(created.deal, 'createDeal 201');
        const etag = need(created.dealEtag, 'getDeal 200');
        const result = await deals.PATCH('/deals/{deal_id}', {
          params: { path: { deal_id: deal.id }, header: { 'If-Match': etag } },
          body: { volume: 18000 },
        });

        expectContract('updateDeal', result, 200);
        expect(result.data).toMatchObject({ id: deal.id, volume: 18000 });
      });
    });

    describe('listDealStepChanges', () => {
      it('200: starts with the step the deal was created in', async () => {
        const deal = need(created.deal, 'createDeal 201');
        const result = await deals.GET('/deals/{deal_id}/step-changes', { params: { path: { deal_id: deal.id } } });

        expectContract('listDealStepChanges', result, 200);
        expect(result.data?.data[0]).toMatchObject({ deal_id: deal.id, from_step_id: null, to_step_id: deal.step_id });
      });
    });

    describe('listDeals', () => {
      it('200: a page of deals', async () => {
        const result = await deals.GET('/deals', { params: { query: { limit: 10 } } });

        expectContract('listDeals', result, 200);
        expect(result.data?.data.length).toBeLessThanOrEqual(10);
      });

      it('401: without X-Api-Key and X-Department-Id, as a problem', async () => {
        const result = await anonymous().GET('/deals');

        expectContract('listDeals', result, 401);
        expect(result.response.headers.get('content-type')).toMatch(/^application\/problem\+json\b/);
      });

      it('paginate: walks every page, each item a deal, the created one among them', async () => {
        const deal = need(created.deal, 'createDeal 201');
        const ids: string[] = [];
        for await (const item of deals.paginate('/deals', { params: { query: { limit: 1 } } })) {
          expect('deleted_at' in item ? contract.checkSchema('DealTombstone', item) : contract.checkSchema('Deal', item)).toEqual([]);
          ids.push(item.id);
        }

        expect(ids).toContain(deal.id);
        expect(new Set(ids).size, 'no deal repeats across pages').toBe(ids.length);
      });
    });

    describe('createCustomer', () => {
      it('201: creates a customer with the fields sent', async () => {
        const result = await deals.POST('/customers', { body: { last_name: 'Doe', first_name: 'John' } });

        expectContract('createCustomer', result, 201);
        const customer = need(result.data, 'a body');
        created.customer = customer;
        expect(customer).toMatchObject({ last_name: 'Doe', first_name: 'John' });
        expect(customer.id).toMatch(UUID_V7);
        expect(customer.created_at).toMatch(TIMESTAMP);
      });
    });

    describe('getCustomer', () => {
      it('200: returns the created customer', async () => {
        const customer = need(created.customer, 'createCustomer 201');
        const result = await deals.GET('/customers/{customer_id}', { params: { path: { customer_id: customer.id } } });

        expectContract('getCustomer', result, 200);
        expect(result.data).toMatchObject({ id: customer.id, last_name: customer.last_name });
        expect(result.response.headers.get('ETag'), 'single-resource responses carry an ETag').toBeTruthy();
      });
    });

    describe('updateCustomer', () => {
      it('200: changes the fields sent', async () => {
        const customer = need(created.customer, 'createCustomer 201');
        const result = await deals.PATCH('/customers/{customer_id}', {
          params: { path: { customer_id: customer.id } },
          body: { city: 'Berlin' },
        });

        expectContract('updateCustomer', result, 200);
        expect(result.data).toMatchObject({ id: customer.id, city: 'Berlin' });
      });
    });

    describe('listCustomers', () => {
      it('200: a page of customers', async () => {
        const result = await deals.GET('/customers', { params: { query: { limit: 10 } } });

        expectContract('listCustomers', result, 200);
        expect(result.data?.data.length).toBeLessThanOrEqual(10);
      });
    });

    describe('listSteps', () => {
      it('200: the pipeline in position order, starting with the step new deals start in', async () => {
        const deal = need(created.deal, 'createDeal 201');
        const result = await deals.GET('/steps');

        expectContract('listSteps', result, 200);
        const steps = need(result.data, 'a body').data;
        expect(steps.map((s) => s.position)).toEqual(steps.map((s) => s.position).sort((a, b) => a - b));
        expect(steps[0]).toMatchObject({ id: deal.step_id, position: 1, department_id: config.departmentId });
      });
    });

    describe('listEmployees', () => {
      it('200: the department’s employees', async () => {
        const result = await deals.GET('/employees');

        expectContract('listEmployees', result, 200);
        expect(Array.isArray(result.data?.data)).toBe(true);
      });
    });

    describe('deleteDeal', () => {
      it('204: deletes the created deal, without a body', async () => {
        const deal = need(created.deal, 'createDeal 201');
        const result = await deals.DELETE('/deals/{deal_id}', { params: { path: { deal_id: deal.id } } });

        expectContract('deleteDeal', result, 204);
        expect(result.data).toBeUndefined();
      });
    });
  });
}
