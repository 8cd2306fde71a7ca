// Type-level test, run by `tsc` (npm run typecheck, part of npm test), never executed: each
// `@ts-expect-error` line must fail to compile, or tsc reports the directive as unused and
// this file fails. It proves that a handler's result is what the contract declares for its
// operation: a declared success status, declared headers, a body of the declared schema.
import type { Customer, Deal } from '@deals/api-types';
import type { JsonText } from '../../src/data/json-text.ts';
import { type Handler, handler } from '../../src/operations/context.ts';

declare const dealJson: JsonText<Deal>;
declare const customerJson: JsonText<Customer>;
declare const deal: Deal;
const etag = '"1"';

// What the contract declares compiles, with the body as SQL-built JSON text or as a value.
export const accepted = [
  handler('getDeal', async () => ({ status: 200, headers: { ETag: etag }, body: dealJson })),
  handler('getDeal', async () => ({ status: 200, body: deal })),
  handler('deleteDeal', async () => ({ status: 204 })),
  handler('createDeal', async ({ header }) => {
    const headers = { Location: '/deals/1', ETag: etag };
    if (header('idempotency-key')) return { status: 201, headers: { ...headers, 'Idempotent-Replayed': 'true' }, body: dealJson };
    return { status: 201, headers, body: dealJson };
  }),
  (async () => ({ status: 200, headers: { ETag: etag }, body: dealJson })) satisfies Handler<'getDeal'>,
];

export const rejected = [
  // A status the operation does not declare.
  // @ts-expect-error 201 is not a response of getDeal
  handler('getDeal', async () => ({ status: 201, headers: { ETag: etag }, body: dealJson })),
  // @ts-expect-error 201 is not a response of getDeal
  (async () => ({ status: 201, body: dealJson })) satisfies Handler<'getDeal'>,
  // @ts-expect-error a declared error status is thrown as an ApiProblem, never returned
  handler('getDeal', async () => ({ status: 404, body: dealJson })),
  // @ts-expect-error a status chosen at run time may be any number
  handler('getDeal', async () => ({ status: Number('200'), body: dealJson })),

  // A header the response does not declare.
  // @ts-expect-error X-Debug is not a header of getDeal's 200
  handler('getDeal', async () => ({ status: 200, headers: { ETag: etag, 'X-Debug': 'on' }, body: dealJson })),
  // @ts-expect-error Location is declared for createDeal's 201, not getDeal's 200 (also when built beforehand)
  handler('getDeal', async () => {
    const headers = { ETag: etag, Location: '/deals/1' };
    return { status: 200, headers, body: dealJson };
  }),
  // @ts-expect-error X-Request-Id is set by middleware on every response, not by a handler
  handler('getDeal', async () => ({ status: 200, headers: { 'X-Request-Id': 'r1' }, body: dealJson })),
  // @ts-expect-error Idempotent-Replayed is 'true' or absent
  handler('createDeal', async () => ({ status: 201, headers: { 'Idempotent-Replayed': 'false' }, body: dealJson })),
  // @ts-expect-error a property that is not a status, headers or body
  handler('getDeal', async () => ({ status: 200, body: dealJson, json: '{}' })),

  // A body that is not the declared schema.
  // @ts-expect-error JSON text of a customer is not a deal
  handler('getDeal', async () => ({ status: 200, body: customerJson })),
  // @ts-expect-error JSON text of a customer is not a deal
  (async () => ({ status: 200, body: customerJson })) satisfies Handler<'getDeal'>,
  // @ts-expect-error text that no data-layer function branded as a Deal
  handler('getDeal', async () => ({ status: 200, body: '{"id":"x"}' })),
  // @ts-expect-error a value missing the Deal's required fields
  handler('getDeal', async () => ({ status: 200, body: { id: 'x', name: 'n' } })),
  // @ts-expect-error a deal where the page of deals is declared
  handler('listDeals', async () => ({ status: 200, body: dealJson })),
  // @ts-expect-error getDeal's 200 has a body
  handler('getDeal', async () => ({ status: 200, headers: { ETag: etag } })),
  // @ts-expect-error deleteDeal's 204 has none
  handler('deleteDeal', async () => ({ status: 204, body: dealJson })),
];

// @ts-expect-error only the data layer brands text, by the row type of the SQL that builds it
export const unbranded: JsonText<Deal> = '{"id":"x"}';
