import { updateWebhookEndpoint as updateEndpointRow } from '../../data/webhook-endpoints.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';
import { refuseUnsafeUrl } from './endpoint-url.ts';

export const updateWebhookEndpoint = handler('updateWebhookEndpoint', async ({ sql, scope, path, body, webhooks }) => {
  if (body.url !== undefined) await refuseUnsafeUrl(body.url, webhooks.urlPolicy);
  const endpoint = await updateEndpointRow(sql, scope, path.endpoint_id, body);
  if (endpoint === undefined) throw notFound('webhookEndpoint');
  return { status: 200, body: endpoint };
});
