// The signing secret is shown twice: in the answer to the creation and to a rotation. It is
// added here, in Node, to the endpoint PostgreSQL rendered, so that no SQL statement (nor a
// database log of one) ever carries it in the clear.
import type { components } from '@deals/api-types';
import type { JsonText } from '../../data/json-text.ts';
import type { WebhookEndpoint } from '../../data/webhook-endpoints.ts';

type WebhookEndpointWithSecret = components['schemas']['WebhookEndpointWithSecret'];

export function withSecret(endpoint: JsonText<WebhookEndpoint>, secret: string): WebhookEndpointWithSecret {
  return { ...(JSON.parse(endpoint) as WebhookEndpoint), secret };
}
