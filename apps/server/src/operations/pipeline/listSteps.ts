import { listSteps as listStepsPage } from '../../data/pipeline.ts';
import type { Handler } from '../context.ts';

export const listSteps: Handler<'listSteps'> = async ({ prisma, scope, query }) => ({
  status: 200,
  json: await listStepsPage(prisma, scope, query),
});
