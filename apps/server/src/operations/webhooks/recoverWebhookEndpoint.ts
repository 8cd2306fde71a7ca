import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const recoverWebhookEndpoint = handler('recoverWebhookEndpoint', async () => {
  throw new Error('recoverWebhookEndpoint is not built yet');
});
