import { findCustomer } from '../../data/customers.ts';
import { etagOf } from '../../http/etag.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const getCustomer = handler('getCustomer', async ({ sql, scope, path }) => {
  const customer = await findCustomer(sql, scope, path.customer_id);
  if (!customer) throw notFound('customer');
  return { status: 200, headers: { ETag: etagOf(customer.version) }, body: customer.json };
});
