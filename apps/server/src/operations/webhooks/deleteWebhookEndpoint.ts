import { deleteWebhookEndpoint as deleteEndpointRow } from '../../data/webhook-endpoints.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const deleteWebhookEndpoint = handler('deleteWebhookEndpoint', async ({ sql, scope, path }) => {
  if (!(await deleteEndpointRow(sql, scope, path.endpoint_id))) throw notFound('webhookEndpoint');
  return { status: 204 };
});
