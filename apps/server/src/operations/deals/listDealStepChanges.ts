import { listDealStepChanges as listStepChangesPage } from '../../data/deals-read.ts';
import { notFound } from '../../http/problem.ts';
import type { Handler } from '../context.ts';

export const listDealStepChanges: Handler<'listDealStepChanges'> = async ({ prisma, scope, path, query }) => {
  const page = await listStepChangesPage(prisma, scope, path.deal_id, query);
  if (page === undefined) throw notFound('deal');
  return { status: 200, json: page };
};
