import { insertDeal } from '../../data/deals-write.ts';
import { eventIds } from '../../data/events.ts';
import { etagOf } from '../../http/etag.ts';
import { validationProblem } from '../../problems.ts';
import { handler } from '../context.ts';
import { idempotentCreate, isReplay } from '../idempotent-create.ts';
import { referenceErrors } from './reference-errors.ts';

export const createDeal = handler('createDeal', async ({ sql, scope, body, header, newId, basePath, requestId }) => {
  const dealId = newId();
  const headers = { Location: `${basePath}/deals/${dealId}`, ETag: etagOf(1) };
  const ids = { dealId, stepChangeId: newId(), customerIds: (body.customers ?? []).map(() => newId()) };
  // customer.created per new customer, then deal.created.
  const events = { origin: { requestId, apiKeyId: scope.apiKeyId }, ids: eventIds(newId, ids.customerIds.length + 1) };
  const result = await idempotentCreate(sql, scope, 'createDeal', header('idempotency-key'), body, (idem) =>
    insertDeal(sql, scope, body, ids, idem, headers, events),
  );
  if (isReplay(result)) return result;
  if (result.body === null) throw validationProblem(referenceErrors(result.checks, body));
  return { status: 201, headers, body: result.body };
});
