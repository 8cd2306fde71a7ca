import { recoverWebhookEndpoint as recoverDeliveries } from '../../data/webhook-deliveries.ts';
import { ApiProblem, addFieldError, fieldErrors, notFound } from '../../problems.ts';
import { handler } from '../context.ts';

export const recoverWebhookEndpoint = handler('recoverWebhookEndpoint', async ({ sql, scope, path, body, webhooks }) => {
  // Timestamps of the contract's format (six fractional digits) compare as text like as times.
  if (body.until !== undefined && body.since > body.until) {
    const message = 'The until field must not be before since.';
    const errors = fieldErrors();
    addFieldError(errors, 'until', message);
    throw new ApiProblem('validation-error', message, { errors });
  }
  const result = await recoverDeliveries(sql, scope, path.endpoint_id, { since: body.since, until: body.until });
  if (!result.endpoint_found) throw notFound('webhookEndpoint');
  if (result.requeued + result.created > 0) webhooks.wake();
  return { status: 202, body: { requeued: result.requeued, created: result.created } };
});
