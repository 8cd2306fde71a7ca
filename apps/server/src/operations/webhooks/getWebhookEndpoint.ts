import { findWebhookEndpoint } from '../../data/webhook-endpoints.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const getWebhookEndpoint = handler('getWebhookEndpoint', async ({ sql, scope, path }) => {
  const endpoint = await findWebhookEndpoint(sql, scope, path.endpoint_id);
  if (endpoint === undefined) throw notFound('webhookEndpoint');
  return { status: 200, body: endpoint };
});
