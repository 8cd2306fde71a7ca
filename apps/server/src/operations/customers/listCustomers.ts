import { listCustomers as listCustomersPage } from '../../data/customers.ts';
import type { Handler } from '../context.ts';

export const listCustomers: Handler<'listCustomers'> = async ({ prisma, scope, query }) => ({
  status: 200,
  json: await listCustomersPage(prisma, scope, query),
});
