import { listWebhookDeliveries as listDeliveryRows } from '../../data/webhook-deliveries.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const listWebhookDeliveries = handler('listWebhookDeliveries', async ({ sql, scope, path, query }) => {
  const page = await listDeliveryRows(sql, scope, path.endpoint_id, query);
  if (page === undefined) throw notFound('webhookEndpoint');
  return { status: 200, body: page };
});
