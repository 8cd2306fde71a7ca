import { insertCustomer } from '../../data/customers.ts';
import { eventIds } from '../../data/events.ts';
import { etagOf } from '../../http/etag.ts';
import { handler } from '../context.ts';
import { idempotentCreate, isReplay } from '../idempotent-create.ts';

export const createCustomer = handler('createCustomer', async ({ sql, scope, body, header, newId, basePath, requestId }) => {
  const id = newId();
  const headers = { Location: `${basePath}/customers/${id}`, ETag: etagOf(1) };
  const events = { origin: { requestId, apiKeyId: scope.apiKeyId }, ids: eventIds(newId, 1) };
  const result = await idempotentCreate(sql, scope, 'createCustomer', header('idempotency-key'), body, (idem) =>
    insertCustomer(sql, scope, body, id, idem, headers, events),
  );
  if (isReplay(result)) return result;
  if (result.body === null) throw new Error('createCustomer wrote nothing although it held the idempotency lock');
  return { status: 201, headers, body: result.body };
});
