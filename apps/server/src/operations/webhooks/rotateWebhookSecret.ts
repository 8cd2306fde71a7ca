import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const rotateWebhookSecret = handler('rotateWebhookSecret', async () => {
  throw new Error('rotateWebhookSecret is not built yet');
});
