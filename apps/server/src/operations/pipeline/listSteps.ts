import { listSteps as listStepsPage } from '../../data/pipeline.ts';
import { handler } from '../context.ts';

export const listSteps = handler('listSteps', async ({ prisma, scope, query }) => ({
  status: 200,
  body: await listStepsPage(prisma, scope, query),
}));
