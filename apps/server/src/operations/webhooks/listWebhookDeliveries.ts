import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const listWebhookDeliveries = handler('listWebhookDeliveries', async () => {
  throw new Error('listWebhookDeliveries is not built yet');
});
