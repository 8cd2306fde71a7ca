import { updateCustomer as updateCustomerRow } from '../../data/customers.ts';
import { etagOf, parseIfMatch, preconditionFailed } from '../../http/etag.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const updateCustomer = handler('updateCustomer', async ({ sql, scope, path, body, header }) => {
  const result = await updateCustomerRow(sql, scope, path.customer_id, body, parseIfMatch(header('if-match')));
  if (!result.found) throw notFound('customer');
  if (!result.precondition_ok || result.body === null || result.version === null) throw preconditionFailed('customer');
  return { status: 200, headers: { ETag: etagOf(result.version) }, body: result.body };
});
