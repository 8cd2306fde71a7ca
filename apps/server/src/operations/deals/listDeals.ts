import { listDeals as listDealsPage } from '../../data/deals-read.ts';
import { handler } from '../context.ts';

export const listDeals = handler('listDeals', async ({ sql, scope, query }) => ({
  status: 200,
  body: await listDealsPage(sql, scope, query),
}));
