export { createDealsClient, type DealsClient, type DealsClientOptions } from './client.ts';
export { DealsApiError, unwrap } from './errors.ts';
export type { ListItem, ListPath, Paginate, PaginateInit } from './paginate.ts';
export { backoffMs, type FetchFn, type RetryOptions, retryAfterMs, withRetry } from './retry.ts';
