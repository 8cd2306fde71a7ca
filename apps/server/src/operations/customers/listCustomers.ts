import { listCustomers as listCustomersPage } from '../../data/customers.ts';
import { handler } from '../context.ts';

export const listCustomers = handler('listCustomers', async ({ sql, scope, query }) => ({
  status: 200,
  body: await listCustomersPage(sql, scope, query),
}));
