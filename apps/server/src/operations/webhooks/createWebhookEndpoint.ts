import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const createWebhookEndpoint = handler('createWebhookEndpoint', async () => {
  throw new Error('createWebhookEndpoint is not built yet');
});
