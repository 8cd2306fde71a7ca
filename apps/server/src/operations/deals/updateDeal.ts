import { updateDeal as updateDealRow } from '../../data/deals-write.ts';
import { eventIds } from '../../data/events.ts';
import { etagOf, parseIfMatch, preconditionFailed } from '../../http/etag.ts';
import { notFound, validationProblem } from '../../problems.ts';
import { handler } from '../context.ts';
import { referenceErrors } from './reference-errors.ts';

export const updateDeal = handler('updateDeal', async ({ sql, scope, path, body, header, newId, requestId }) => {
  // deal.updated, and deal.step_changed if the step moves.
  const events = { origin: { requestId, apiKeyId: scope.apiKeyId }, ids: eventIds(newId, 2) };
  const result = await updateDealRow(sql, scope, path.deal_id, body, parseIfMatch(header('if-match')), newId(), events);
  const { checks } = result;
  if (!checks.found) throw notFound('deal');
  if (!checks.precondition_ok) throw preconditionFailed('deal');
  if (result.body === null || result.version === null) throw validationProblem(referenceErrors(checks, body));
  return { status: 200, headers: { ETag: etagOf(result.version) }, body: result.body };
});
