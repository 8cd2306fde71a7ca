// The `webhook.test` event (the contract's WebhookTestEvent): built in Node because it is never
// stored, with the key order and timestamp format of the stored events (api_event_json).
import type { components } from '@deals/api-types';
import type { Scope } from '../../auth/scope.ts';

type WebhookTestEvent = components['schemas']['WebhookTestEvent'];

/** The API's timestamp format: UTC, six fractional digits (a Date has three). */
export const apiTimestamp = (at: Date): string => at.toISOString().replace(/Z$/, '000Z');

/** The exact text sent and signed. */
export function testEventPayload(id: string, endpointId: string, at: Date, scope: Scope, requestId: string): string {
  const event: WebhookTestEvent = {
    id,
    type: 'webhook.test',
    timestamp: apiTimestamp(at),
    data: { endpoint_id: endpointId },
    origin: { request_id: requestId, api_key_id: scope.apiKeyId },
  };
  return JSON.stringify(event);
}
