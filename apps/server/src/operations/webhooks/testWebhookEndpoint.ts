import { findWebhookEndpointSigning } from '../../data/webhook-endpoints.ts';
import { notFound } from '../../problems.ts';
import { sendWebhook } from '../../webhooks/send.ts';
import { handler } from '../context.ts';
import { apiTimestamp, testEventPayload } from './test-event.ts';

// Sends now, enabled or not, with the same sender as the worker (the SSRF check at connect
// time, no redirects, the timeout, 4 KiB of the answer): what a receiver sees is what a real
// delivery looks like. Not stored in the delivery log and never retried.
export const testWebhookEndpoint = handler('testWebhookEndpoint', async ({ sql, scope, path, newId, requestId, webhooks }) => {
  const endpoint = await findWebhookEndpointSigning(sql, scope, path.endpoint_id);
  if (endpoint === undefined) throw notFound('webhookEndpoint');
  const secrets = [endpoint.secret, endpoint.previous_secret].flatMap((sealed) => (sealed ? [webhooks.secrets.open(sealed)] : []));
  const eventId = newId();
  const payload = testEventPayload(eventId, path.endpoint_id, new Date(), scope, requestId);
  const attempt = await sendWebhook({
    url: endpoint.url,
    eventId,
    payload,
    secrets,
    timeoutMs: webhooks.timeoutMs,
    policy: webhooks.urlPolicy,
  });
  return {
    status: 200,
    body: {
      event_id: eventId,
      attempt: {
        attempted_at: apiTimestamp(attempt.attemptedAt),
        status_code: attempt.statusCode,
        duration_ms: attempt.durationMs,
        error: attempt.error,
        response_body: attempt.responseBody,
      },
    },
  };
});
