// Verifying the API's webhook deliveries: the signature check is the `standardwebhooks` package's
// own (unmodified), so a receiver trusts exactly what the Standard Webhooks specification
// promises; this module adds the contract's types and one error type to catch. It imports
// nothing from Node, so it runs in browsers, workers and edge runtimes too.
import type { components } from '@deals/api-types';
import { WebhookVerificationError as StandardWebhookError, Webhook } from 'standardwebhooks';

type Schemas = components['schemas'];

/**
 * Every request body the contract's `webhooks` section describes: the feed's events and the
 * `webhook.test` that `POST /webhook-endpoints/{id}/test` sends. A union discriminated by
 * `type`: `if (event.type === 'deal.created')` narrows `event.data.object` to a Deal.
 */
export type WebhookEvent = Schemas['Event'] | Schemas['WebhookTestEvent'];
export type WebhookEventType = WebhookEvent['type'];
/** The event of one type: `WebhookEventOf<'customer.updated'>`. */
export type WebhookEventOf<T extends WebhookEventType> = Extract<WebhookEvent, { type: T }>;

/** What a Headers object or Node's `req.headers` (IncomingHttpHeaders) may be. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** Why a delivery was rejected; a receiver answers 400 to all of them (the API logs the attempt). */
export type WebhookVerificationReason =
  /** webhook-id, webhook-timestamp or webhook-signature is absent. */
  | 'missing_headers'
  /** webhook-timestamp is not a number of seconds. */
  | 'invalid_timestamp'
  /** Signed more than 5 minutes ago (a replayed request), or more than 5 minutes ahead of this clock. */
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  /** No signature matches: another secret, or a body or id that changed on the way. */
  | 'invalid_signature'
  /** Correctly signed, but not UTF-8 JSON of an event (id, type, data). */
  | 'malformed_body';

/** A delivery that must not be trusted. `reason` says why; `cause` is standardwebhooks' own error, if any. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  readonly reason: WebhookVerificationReason;

  constructor(reason: WebhookVerificationReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

// standardwebhooks 1.1 tells its failures apart by message only; pinned (~1.1.1), and each
// message has a test, so a change in a new version fails there rather than here.
const REASONS: Record<string, WebhookVerificationReason> = {
  'Missing required headers': 'missing_headers',
  'Invalid Signature Headers': 'invalid_timestamp',
  'Message timestamp too old': 'timestamp_too_old',
  'Message timestamp too new': 'timestamp_too_new',
  'No matching signature found': 'invalid_signature',
};

const SIGNATURE_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

/**
 * Checks that a delivery was signed with `secret` (the `whsec_…` of the endpoint, from its
 * creation or rotation) less than 5 minutes ago, and returns its event, typed by `type`.
 * `rawBody` must be the bytes as received: parsing and re-serialising JSON changes them and
 * breaks the signature (in Express, `express.raw({ type: 'application/json' })`).
 * Throws WebhookVerificationError for a delivery to reject, and TypeError for a secret that
 * is not a signing secret at all (a configuration error, not a bad request).
 *
 * Types the API adds later arrive with their own `type`: give a `switch` a `default`.
 * Delivery is at least once: drop an event whose `id` you have already handled.
 */
export function verifyWebhook(secret: string, rawBody: string | Uint8Array, headers: WebhookHeaders): WebhookEvent {
  const webhook = signingKey(secret);
  const body = typeof rawBody === 'string' ? rawBody : utf8(rawBody);
  try {
    // jsonParse: false, so that a body that is not JSON is told apart from a bad signature.
    webhook.verify(body, signatureHeaders(headers), { jsonParse: false });
  } catch (error) {
    if (!(error instanceof StandardWebhookError)) throw error;
    throw new WebhookVerificationError(REASONS[error.message] ?? 'invalid_signature', `webhook rejected: ${error.message}`, {
      cause: error,
    });
  }
  return parseEvent(body);
}

function signingKey(secret: string): Webhook {
  try {
    return new Webhook(secret);
  } catch (error) {
    throw new TypeError('the webhook secret must be the whsec_… value the API returned for the endpoint', { cause: error });
  }
}

function utf8(bytes: Uint8Array): string {
  try {
    // ignoreBOM keeps a leading BOM, so the text signed is the bytes received.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw new WebhookVerificationError('malformed_body', 'webhook rejected: the body is not UTF-8', { cause: error });
  }
}

/** The three signature headers from either shape; a repeated header's values are joined as one list of signatures. */
function signatureHeaders(headers: WebhookHeaders): Record<string, string> {
  const read =
    typeof (headers as Headers).get === 'function'
      ? (name: string) => (headers as Headers).get(name) ?? undefined
      : (name: string) => headerValue(headers as Record<string, string | string[] | undefined>, name);
  const picked: Record<string, string> = {};
  for (const name of SIGNATURE_HEADERS) {
    const value = read(name);
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  // Node lower-cases header names; a hand-built object may not.
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value.join(' ') : value;
}

function parseEvent(body: string): WebhookEvent {
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch (error) {
    throw new WebhookVerificationError('malformed_body', 'webhook rejected: the body is not JSON', { cause: error });
  }
  if (!isEventShaped(event)) throw new WebhookVerificationError('malformed_body', 'webhook rejected: the body is not an event');
  return event;
}

/** The envelope every event has; the rest is what the API signed, so it is trusted as the contract describes it. */
function isEventShaped(value: unknown): value is WebhookEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { id, type, data } = value as Record<string, unknown>;
  return typeof id === 'string' && typeof type === 'string' && typeof data === 'object' && data !== null;
}
