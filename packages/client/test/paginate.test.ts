import type { DealStepChange } from '@deals/api-types';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { createDealsClient, DealsApiError, type ListItem } from '../src/index.ts';
import { referenceDeal } from './support/contract-examples.ts';
import { type Handler, json, problem, startTestServer, type TestServer } from './support/test-server.ts';

const deals = Array.from({ length: 5 }, (_, i) => ({ ...referenceDeal, id: referenceDeal.id.replace(/.$/, String(i)), name: `Deal ${i}` }));

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(handler: Handler) {
  server = await startTestServer(handler);
  const client = createDealsClient({
    baseUrl: server.baseUrl,
    apiKey: 'k',
    departmentId: referenceDeal.department_id,
    retry: { sleep: async () => {} },
  });
  return { client, requests: server.requests };
}

/** Serves `items` in pages of `limit`, with the offset as cursor (opaque to the client). */
function pages(items: unknown[]): Handler {
  return (req, res) => {
    const query = new URL(req.url, 'http://test').searchParams;
    const limit = Number(query.get('limit') ?? 25);
    const offset = Number(query.get('cursor') ?? 0);
    const next = offset + limit < items.length ? String(offset + limit) : null;
    json(res, 200, { data: items.slice(offset, offset + limit), next_cursor: next });
  };
}

/** Array.fromAsync arrived in Node 22; this package supports Node 20. */
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

const queryOf = (url: string) => Object.fromEntries(new URL(url, 'http://test').searchParams);

describe('paginate', () => {
  it('walks every page of listDeals, sending the same filters with each cursor', async () => {
    const { client, requests } = await setup(pages(deals));

    const seen: string[] = [];
    for await (const deal of client.paginate('/deals', { params: { query: { limit: 2, sort: 'name' } } })) {
      expectTypeOf(deal).toEqualTypeOf<ListItem<'/deals'>>();
      seen.push(deal.id);
    }

    expect(seen).toEqual(deals.map((d) => d.id));
    expect(requests.map((r) => queryOf(r.url))).toEqual([
      { limit: '2', sort: 'name' },
      { limit: '2', sort: 'name', cursor: '2' },
      { limit: '2', sort: 'name', cursor: '4' },
    ]);
    expect(requests.every((r) => r.url.startsWith('/api/v1/integration/deals?'))).toBe(true);
  });

  it('fills path parameters for listDealStepChanges', async () => {
    const change: DealStepChange = {
      id: referenceDeal.id,
      deal_id: referenceDeal.id,
      from_step_id: null,
      to_step_id: referenceDeal.step_id,
      changed_at: referenceDeal.created_at,
    };
    const { client, requests } = await setup(pages([change]));

    const changes = await collect(client.paginate('/deals/{deal_id}/step-changes', { params: { path: { deal_id: referenceDeal.id } } }));

    expectTypeOf(changes).toEqualTypeOf<DealStepChange[]>();
    expect(changes).toEqual([change]);
    expect(requests.map((r) => r.url)).toEqual([`/api/v1/integration/deals/${referenceDeal.id}/step-changes`]);
  });

  it('resumes from a cursor given in init', async () => {
    const { client } = await setup(pages(deals));

    const rest = await collect(client.paginate('/deals', { params: { query: { limit: 2, cursor: '2' } } }));

    expect(rest.map((d) => d.id)).toEqual(deals.slice(2).map((d) => d.id));
  });

  it('retries a page that failed transiently and carries on', async () => {
    const serve = pages(deals);
    const { client, requests } = await setup((req, res, i) =>
      i === 1 ? json(res, 503, problem(503, 'Service unavailable')) : serve(req, res, i),
    );

    const all = await collect(client.paginate('/deals', { params: { query: { limit: 3 } } }));

    expect(all).toHaveLength(5);
    expect(requests.map((r) => queryOf(r.url).cursor)).toEqual([undefined, '3', '3']);
  });

  it('throws DealsApiError when a page fails, after yielding the pages before it', async () => {
    const serve = pages(deals);
    const { client } = await setup((req, res, i) => (i === 1 ? json(res, 400, problem(400, 'Bad cursor')) : serve(req, res, i)));

    const seen: string[] = [];
    const walk = async () => {
      for await (const deal of client.paginate('/deals', { params: { query: { limit: 2 } } })) seen.push(deal.id);
    };

    const error = await walk().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DealsApiError);
    expect(error).toMatchObject({ status: 400, problem: { title: 'Bad cursor' } });
    expect(seen).toEqual(deals.slice(0, 2).map((d) => d.id));
  });

  it('refuses to loop when the server hands back the cursor it was sent', async () => {
    const { client, requests } = await setup((_req, res) => json(res, 200, { data: [deals[0]], next_cursor: 'same' }));

    await expect(collect(client.paginate('/customers'))).rejects.toThrow(/returned the cursor it was sent/);
    expect(requests).toHaveLength(2);
  });
});
