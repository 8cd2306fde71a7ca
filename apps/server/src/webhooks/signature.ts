// The Standard Webhooks signature: one `v1,<base64 HMAC-SHA256>` per secret, space-separated.
// During a secret rotation's grace period an endpoint has two secrets; the receiver accepts the
// request if any one signature matches, so old and new secrets both verify.
import { createHmac } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** The key bytes of a 'whsec_…' secret (the prefix is optional, as in standardwebhooks). */
export function signingKey(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  if (key.length === 0) throw new Error('a webhook signing secret must not be empty');
  return key;
}

/** `v1,<signature>` for one secret over `${id}.${timestampSeconds}.${body}` (UTF-8). */
export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', signingKey(secret)).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

export function signatureHeader(secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  if (secrets.length === 0) throw new Error('a webhook needs at least one signing secret');
  return secrets.map((secret) => sign(secret, id, timestampSeconds, body)).join(' ');
}
