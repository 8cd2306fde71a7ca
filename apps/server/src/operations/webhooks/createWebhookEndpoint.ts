import { insertWebhookEndpoint } from '../../data/webhook-endpoints.ts';
import { newSigningSecret } from '../../webhooks/secret-box.ts';
import { handler } from '../context.ts';
import { refuseUnsafeUrl } from './endpoint-url.ts';
import { withSecret } from './with-secret.ts';

export const createWebhookEndpoint = handler('createWebhookEndpoint', async ({ sql, scope, body, newId, basePath, webhooks }) => {
  await refuseUnsafeUrl(body.url, webhooks.urlPolicy);
  const id = newId();
  const secret = newSigningSecret();
  const { json: endpoint } = await insertWebhookEndpoint(sql, scope, body, id, webhooks.secrets.seal(secret));
  return { status: 201, headers: { Location: `${basePath}/webhook-endpoints/${id}` }, body: withSecret(endpoint, secret) };
});
