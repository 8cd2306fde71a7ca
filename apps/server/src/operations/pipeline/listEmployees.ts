import { listEmployees as listEmployeesPage } from '../../data/pipeline.ts';
import type { Handler } from '../context.ts';

export const listEmployees: Handler<'listEmployees'> = async ({ prisma, scope, query }) => ({
  status: 200,
  json: await listEmployeesPage(prisma, scope, query),
});
