import { findDeal } from '../../data/deals-read.ts';
import { etagOf } from '../../http/etag.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const getDeal = handler('getDeal', async ({ sql, scope, path }) => {
  const deal = await findDeal(sql, scope, path.deal_id);
  if (!deal) throw notFound('deal');
  return { status: 200, headers: { ETag: etagOf(deal.version) }, body: deal.json };
});
