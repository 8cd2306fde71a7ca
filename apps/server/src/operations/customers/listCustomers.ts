import { listCustomers as listCustomersPage } from '../../data/customers.ts';
import type { Handler } from '../context.ts';

export const listCustomers: Handler<'listCustomers'> = async ({ sql, scope, query }) => ({
  status: 200,
  json: await listCustomersPage(sql, scope, query),
});
