import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const redeliverEvent = handler('redeliverEvent', async () => {
  throw new Error('redeliverEvent is not built yet');
});
