import { listDeals as listDealsPage } from '../../data/deals-read.ts';
import type { Handler } from '../context.ts';

export const listDeals: Handler<'listDeals'> = async ({ sql, scope, query }) => ({
  status: 200,
  json: await listDealsPage(sql, scope, query),
});
