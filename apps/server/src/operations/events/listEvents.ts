import { handler } from '../context.ts';

// Placeholder while issue #7 is built: replaced by the real handler before it lands.
export const listEvents = handler('listEvents', async () => {
  throw new Error('listEvents is not built yet');
});
