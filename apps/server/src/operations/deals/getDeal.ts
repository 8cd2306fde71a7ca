import { findDeal } from '../../data/deals-read.ts';
import { etagOf } from '../../http/etag.ts';
import { notFound } from '../../http/problem.ts';
import type { Handler } from '../context.ts';

export const getDeal: Handler<'getDeal'> = async ({ prisma, scope, path }) => {
  const deal = await findDeal(prisma, scope, path.deal_id);
  if (!deal) throw notFound('deal');
  return { status: 200, headers: { ETag: etagOf(deal.version) }, json: deal.json };
};
