import type { paths } from '@deals/api-types';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { createPaginate, type Paginate } from './paginate.ts';
import { type FetchFn, type RetryOptions, withRetry } from './retry.ts';
import { uuidv7 } from './uuid-v7.ts';

export interface DealsClientOptions {
  /** The API base, servers[0] of the contract on some host: `http://127.0.0.1:4010/api/v1/integration`. */
  baseUrl: string;
  /** The integration's secret, sent as X-Api-Key. */
  apiKey: string;
  /** The department every call acts on, sent as X-Department-Id. */
  departmentId: string;
  /** Defaults to globalThis.fetch; inject one to trace, proxy or test. */
  fetch?: FetchFn;
  /** Backoff settings, or false to send every request exactly once. */
  retry?: RetryOptions | false;
  /**
   * Makes the Idempotency-Key of each POST; defaults to a UUIDv7. An Idempotency-Key header set on
   * one request wins over both.
   */
  idempotencyKey?: () => string;
}

export type DealsClient = Client<paths> & { paginate: Paginate };

/**
 * A typed client for every operation of openapi/deals.yaml: `GET`, `POST`, `PATCH` and `DELETE`
 * are openapi-fetch's, typed by the generated `paths`; `paginate` walks list operations.
 */
export function createDealsClient(options: DealsClientOptions): DealsClient {
  const { baseUrl, apiKey, departmentId, retry = {}, idempotencyKey = () => uuidv7() } = options;
  // Read globalThis.fetch per call rather than capturing it, so test tools that swap it still work.
  const baseFetch: FetchFn = options.fetch ?? ((request, init) => globalThis.fetch(request, init));
  const client = createClient<paths>({ baseUrl, fetch: retry === false ? baseFetch : withRetry(baseFetch, retry) });
  client.use(authHeaders(apiKey, departmentId), idempotencyKeys(idempotencyKey));
  return Object.assign(client, { paginate: createPaginate(client) });
}

/**
 * The contract declares X-Api-Key and X-Department-Id as apiKey security schemes, so they are
 * not typed parameters of any operation. A header the caller set on one request wins, e.g. to
 * act on another granted department for a single call.
 */
function authHeaders(apiKey: string, departmentId: string): Middleware {
  return {
    onRequest({ request }) {
      if (!request.headers.has('X-Api-Key')) request.headers.set('X-Api-Key', apiKey);
      if (!request.headers.has('X-Department-Id')) request.headers.set('X-Department-Id', departmentId);
      return request;
    },
  };
}

/**
 * Every POST carries an Idempotency-Key so that it can be retried safely. Middleware runs once
 * per call, before the retrying fetch, so all attempts of one call share the key.
 * The default key is time-ordered (UUIDv7) rather than random (v4): the server stores every key in
 * the B-tree of its primary key (idempotency_records: tenant_id, key), where a tenant's new
 * time-ordered keys land at the right edge instead of scattering inserts over the whole index.
 * The measured effect is being studied separately.
 */
function idempotencyKeys(makeKey: () => string): Middleware {
  return {
    onRequest({ request }) {
      if (request.method === 'POST' && !request.headers.has('Idempotency-Key')) request.headers.set('Idempotency-Key', makeKey());
      return request;
    },
  };
}
