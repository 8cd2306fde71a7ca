import { findCustomer } from '../../data/customers.ts';
import { etagOf } from '../../http/etag.ts';
import { notFound } from '../../problems.ts';
import type { Handler } from '../context.ts';

export const getCustomer: Handler<'getCustomer'> = async ({ sql, scope, path }) => {
  const customer = await findCustomer(sql, scope, path.customer_id);
  if (!customer) throw notFound('customer');
  return { status: 200, headers: { ETag: etagOf(customer.version) }, json: customer.json };
};
