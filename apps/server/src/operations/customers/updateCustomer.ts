import { updateCustomer as updateCustomerRow } from '../../data/customers.ts';
import { eventIds } from '../../data/events.ts';
import { etagOf, parseIfMatch, preconditionFailed } from '../../http/etag.ts';
import { notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const updateCustomer = handler('updateCustomer', async ({ sql, scope, path, body, header, newId, requestId }) => {
  const events = { origin: { requestId, apiKeyId: scope.apiKeyId }, ids: eventIds(newId, 1) };
  const result = await updateCustomerRow(sql, scope, path.customer_id, body, parseIfMatch(header('if-match')), events);
  if (!result.found) throw notFound('customer');
  if (!result.precondition_ok || result.body === null || result.version === null) throw preconditionFailed('customer');
  return { status: 200, headers: { ETag: etagOf(result.version) }, body: result.body };
});
