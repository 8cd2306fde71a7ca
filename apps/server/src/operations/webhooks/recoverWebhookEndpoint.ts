import { recoverWebhookEndpoint as recoverDeliveries } from '../../data/webhook-deliveries.ts';
import { addFieldError, fieldErrors, notFound, validationProblem } from '../../problems.ts';
import { handler } from '../context.ts';

export const recoverWebhookEndpoint = handler('recoverWebhookEndpoint', async ({ sql, scope, path, body, webhooks }) => {
  // The contract's RFC 3339 check passes instants JavaScript cannot read (a leap second, an
  // offset without minutes) and offsets PostgreSQL refuses (beyond ±15 h): each is parsed here
  // and handed on as UTC, so that none reaches SQL as a 500, and the window compares as times.
  const errors = fieldErrors();
  const since = Date.parse(body.since);
  const until = body.until === undefined ? undefined : Date.parse(body.until);
  if (Number.isNaN(since))
    addFieldError(errors, 'since', 'The since field must be an instant this API can read, e.g. 2026-03-06T18:00:00Z.');
  if (until !== undefined && Number.isNaN(until)) {
    addFieldError(errors, 'until', 'The until field must be an instant this API can read, e.g. 2026-03-06T18:00:00Z.');
  }
  if (until !== undefined && since > until) addFieldError(errors, 'until', 'The until field must not be before since.');
  if (Object.keys(errors).length) throw validationProblem(errors);
  const window = { since: new Date(since).toISOString(), until: until === undefined ? undefined : new Date(until).toISOString() };
  const result = await recoverDeliveries(sql, scope, path.endpoint_id, window);
  if (!result.endpoint_found) throw notFound('webhookEndpoint');
  if (result.requeued + result.created > 0) webhooks.wake();
  return { status: 202, body: { requeued: result.requeued, created: result.created } };
});
