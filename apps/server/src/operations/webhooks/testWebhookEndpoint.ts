import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const testWebhookEndpoint = handler('testWebhookEndpoint', async () => {
  throw new Error('testWebhookEndpoint is not built yet');
});
