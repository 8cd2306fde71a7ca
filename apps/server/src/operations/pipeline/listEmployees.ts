import { listEmployees as listEmployeesPage } from '../../data/pipeline.ts';
import { handler } from '../context.ts';

export const listEmployees = handler('listEmployees', async ({ prisma, scope, query }) => ({
  status: 200,
  body: await listEmployeesPage(prisma, scope, query),
}));
