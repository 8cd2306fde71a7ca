import { listEvents as listEventsPage } from '../../data/events.ts';
import { handler } from '../context.ts';

export const listEvents = handler('listEvents', async ({ sql, scope, query }) => ({
  status: 200,
  body: await listEventsPage(sql, scope, query),
}));
