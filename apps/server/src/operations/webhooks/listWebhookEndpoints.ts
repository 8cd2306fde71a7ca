import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const listWebhookEndpoints = handler('listWebhookEndpoints', async () => {
  throw new Error('listWebhookEndpoints is not built yet');
});
