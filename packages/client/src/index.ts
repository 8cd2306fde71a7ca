export { createDealsClient, type DealsClient, type DealsClientOptions } from './client.ts';
export { DealsApiError, unwrap } from './errors.ts';
export type { ListItem, ListPath, Paginate, PaginateInit } from './paginate.ts';
export { backoffMs, type FetchFn, type RetryOptions, retryAfterMs, withRetry } from './retry.ts';
export {
  verifyWebhook,
  type WebhookEvent,
  type WebhookEventOf,
  type WebhookEventType,
  type WebhookHeaders,
  WebhookVerificationError,
  type WebhookVerificationReason,
} from './webhooks.ts';
