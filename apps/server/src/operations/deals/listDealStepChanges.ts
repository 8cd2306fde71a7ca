import { listDealStepChanges as listStepChangesPage } from '../../data/deals-read.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const listDealStepChanges = handler('listDealStepChanges', async ({ sql, scope, path, query }) => {
  const page = await listStepChangesPage(sql, scope, path.deal_id, query);
  if (page === undefined) throw notFound('deal');
  return { status: 200, body: page };
});
