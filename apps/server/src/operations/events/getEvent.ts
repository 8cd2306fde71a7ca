import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const getEvent = handler('getEvent', async () => {
  throw new Error('getEvent is not built yet');
});
