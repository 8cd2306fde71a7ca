import { redeliverEvent as queueRedelivery } from '../../data/webhook-deliveries.ts';
import { ApiProblem, notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const redeliverEvent = handler('redeliverEvent', async ({ sql, scope, path, body, newId, webhooks }) => {
  const result = await queueRedelivery(sql, scope, path.event_id, body.endpoint_id, newId());
  if (!result.event_found) throw notFound('event');
  if (!result.endpoint_found) throw notFound('webhookEndpoint');
  if (result.json === null) {
    throw new ApiProblem(
      'endpoint-disabled',
      `Webhook endpoint ${body.endpoint_id} is disabled (${result.disabled_reason}); enable it first.`,
    );
  }
  webhooks.wake();
  return { status: 202, body: result.json };
});
