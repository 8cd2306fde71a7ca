import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const updateWebhookEndpoint = handler('updateWebhookEndpoint', async () => {
  throw new Error('updateWebhookEndpoint is not built yet');
});
