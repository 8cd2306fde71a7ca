import { rotateWebhookSecret as rotateSecretRow } from '../../data/webhook-endpoints.ts';
import { notFound } from '../../problems.ts';
import { newSigningSecret } from '../../webhooks/secret-box.ts';
import { handler } from '../context.ts';
import { withSecret } from './with-secret.ts';

/** One day: the contract's default grace period. */
const DEFAULT_GRACE_SECONDS = 86_400;

export const rotateWebhookSecret = handler('rotateWebhookSecret', async ({ sql, scope, path, body, webhooks }) => {
  const secret = newSigningSecret();
  const grace = body.grace_period_seconds ?? DEFAULT_GRACE_SECONDS;
  const endpoint = await rotateSecretRow(sql, scope, path.endpoint_id, webhooks.secrets.seal(secret), grace);
  if (endpoint === undefined) throw notFound('webhookEndpoint');
  return { status: 200, body: withSecret(endpoint, secret) };
});
