import { listWebhookEndpoints as listEndpointRows } from '../../data/webhook-endpoints.ts';
import { handler } from '../context.ts';

export const listWebhookEndpoints = handler('listWebhookEndpoints', async ({ sql, scope, query }) => {
  return { status: 200, body: await listEndpointRows(sql, scope, query) };
});
