import type { paths } from '@deals/api-types';
import type { Client, MaybeOptionalInit } from 'openapi-fetch';
import { DealsApiError } from './errors.ts';

type GetPath = { [P in keyof paths]: paths[P] extends { get: object } ? P : never }[keyof paths];
type PageOf<P extends GetPath> = paths[P]['get'] extends { responses: { 200: { content: { 'application/json': infer Page } } } }
  ? Page
  : never;

/** The list operations: GET paths whose 200 body is `{ data: [...], next_cursor }`. */
export type ListPath = { [P in GetPath]: PageOf<P> extends { data: unknown[]; next_cursor: string | null } ? P : never }[GetPath];

/** The item type of a list operation, e.g. `Deal | DealTombstone` for `/deals`. */
export type ListItem<P extends ListPath> = PageOf<P> extends { data: (infer Item)[] } ? Item : never;

/** The init of the list call: filters, sort, limit and path parameters, sent with every page. */
export type PaginateInit<P extends ListPath> = MaybeOptionalInit<paths[P], 'get'>;

type PaginateArgs<P extends ListPath> = undefined extends PaginateInit<P> ? [init?: PaginateInit<P>] : [init: PaginateInit<P>];

/**
 * Yields every item of a list operation, following `next_cursor` page by page with the same
 * filters, as the contract requires. Throws DealsApiError when a page fails (after the client's
 * retries), so a partial walk is never mistaken for a complete one.
 */
export function createPaginate(client: Client<paths>) {
  return async function* paginate<P extends ListPath>(path: P, ...[init]: PaginateArgs<P>): AsyncGenerator<ListItem<P>, void, undefined> {
    const base = (init ?? {}) as { params?: { query?: Record<string, unknown>; path?: Record<string, unknown> } };
    // A cursor in init resumes a walk where an earlier one stopped.
    let cursor = base.params?.query?.cursor as string | undefined;
    // openapi-fetch cannot relate a generic path to its init type; the public signature above
    // is what keeps callers type-safe, so the call itself is made through a loose view.
    const get = client.GET as unknown as (
      path: string,
      init: object,
    ) => Promise<{ data?: { data: ListItem<P>[]; next_cursor: string | null }; error?: unknown; response: Response }>;
    for (;;) {
      const pageInit = { ...base, params: { ...base.params, query: { ...base.params?.query, cursor } } };
      const { data, error, response } = await get(path, pageInit);
      if (!response.ok || data === undefined) throw new DealsApiError(response, error);
      yield* data.data;
      if (data.next_cursor === null) return;
      // A server that hands back the cursor it was given would make this loop forever (Prism
      // does: it answers every page with the same example); stop loudly instead.
      if (data.next_cursor === cursor)
        throw new Error(`paginate ${path}: the server returned the cursor it was sent (${cursor}); refusing to loop`);
      cursor = data.next_cursor;
    }
  };
}

export type Paginate = ReturnType<typeof createPaginate>;
