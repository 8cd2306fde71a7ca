import { findEvent } from '../../data/events.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const getEvent = handler('getEvent', async ({ sql, scope, path }) => {
  const event = await findEvent(sql, scope, path.event_id);
  if (!event) throw notFound('event');
  return { status: 200, body: event };
});
