import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const deleteWebhookEndpoint = handler('deleteWebhookEndpoint', async () => {
  throw new Error('deleteWebhookEndpoint is not built yet');
});
