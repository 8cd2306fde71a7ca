import { deleteDeal as deleteDealRow } from '../../data/deals-write.ts';
import { parseIfMatch, preconditionFailed } from '../../http/etag.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const deleteDeal = handler('deleteDeal', async ({ sql, scope, path, header }) => {
  const result = await deleteDealRow(sql, scope, path.deal_id, parseIfMatch(header('if-match')));
  if (!result.found) throw notFound('deal');
  if (!result.precondition_ok) throw preconditionFailed('deal');
  return { status: 204 };
});
