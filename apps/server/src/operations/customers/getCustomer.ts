import { findCustomer } from '../../data/customers.ts';
import { etagOf } from '../../http/etag.ts';
import { notFound } from '../../http/problem.ts';
import type { Handler } from '../context.ts';

export const getCustomer: Handler<'getCustomer'> = async ({ prisma, scope, path }) => {
  const customer = await findCustomer(prisma, scope, path.customer_id);
  if (!customer) throw notFound('customer');
  return { status: 200, headers: { ETag: etagOf(customer.version) }, json: customer.json };
};
