import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const getWebhookEndpoint = handler('getWebhookEndpoint', async () => {
  throw new Error('getWebhookEndpoint is not built yet');
});
