import { deleteDeal as deleteDealRow } from '../../data/deals-write.ts';
import { eventIds } from '../../data/events.ts';
import { parseIfMatch, preconditionFailed } from '../../http/etag.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const deleteDeal = handler('deleteDeal', async ({ sql, scope, path, header, newId, requestId }) => {
  const events = { origin: { requestId, apiKeyId: scope.apiKeyId }, ids: eventIds(newId, 1) };
  const result = await deleteDealRow(sql, scope, path.deal_id, parseIfMatch(header('if-match')), events);
  if (!result.found) throw notFound('deal');
  if (!result.precondition_ok) throw preconditionFailed('deal');
  return { status: 204 };
});
