// A webhook URL is checked when it is registered or changed (and again by the sender at every
// connection, since DNS can change): a refused one is a 422 on `url` naming why.
import { ApiProblem, addFieldError, fieldErrors } from '../../problems.ts';
import { type AddressPolicy, checkWebhookUrl } from '../../webhooks/ssrf.ts';

export async function refuseUnsafeUrl(url: string, policy: AddressPolicy): Promise<void> {
  const verdict = await checkWebhookUrl(url, policy);
  if (verdict.ok) return;
  const message = `The url field is refused: ${verdict.reason}.`;
  const errors = fieldErrors();
  addFieldError(errors, 'url', message);
  throw new ApiProblem('validation-error', message, { errors });
}
