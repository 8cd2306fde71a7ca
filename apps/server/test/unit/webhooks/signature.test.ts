// Our signatures verify with the `standardwebhooks` package, unmodified: what receivers use.
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newSigningSecret } from '../../../src/webhooks/secret-box.ts';
import { signatureHeader } from '../../../src/webhooks/signature.ts';

const id = 'evt_2f8c1a7e9b3d4c5f';
const body = JSON.stringify({ id, type: 'deal.updated', data: { object: { title: 'Café ☕ – naïve' } } });

function headers(signature: string, timestamp: number): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('signatureHeader', () => {
  it('one secret: a single v1 signature that standardwebhooks verifies (non-ASCII body)', () => {
    const secret = newSigningSecret();
    const ts = nowSeconds();
    const signature = signatureHeader([secret], id, ts, body);
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, headers(signature, ts))).toEqual(JSON.parse(body));
    // and it is exactly the package's own signature
    expect(signature).toBe(new Webhook(secret).sign(id, new Date(ts * 1000), body));
  });

  it('two secrets: two signatures, and each secret alone verifies', () => {
    const [oldSecret, newSecret] = [newSigningSecret(), newSigningSecret()];
    const ts = nowSeconds();
    const signature = signatureHeader([oldSecret, newSecret], id, ts, body);
    expect(signature.split(' ')).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(body, headers(signature, ts))).toEqual(JSON.parse(body));
    expect(new Webhook(newSecret).verify(body, headers(signature, ts))).toEqual(JSON.parse(body));
  });

  it('does not verify with another secret, another body, id or timestamp', () => {
    const secret = newSigningSecret();
    const ts = nowSeconds();
    const signature = signatureHeader([secret], id, ts, body);
    expect(() => new Webhook(newSigningSecret()).verify(body, headers(signature, ts))).toThrow(/No matching signature/);
    expect(() => new Webhook(secret).verify(body.replace('deal', 'lead'), headers(signature, ts))).toThrow(/No matching/);
    expect(() => new Webhook(secret).verify(body, { ...headers(signature, ts), 'webhook-id': 'evt_other' })).toThrow(/No matching/);
    expect(() => new Webhook(secret).verify(body, headers(signature, ts - 1))).toThrow(/No matching/);
  });

  it('refuses to sign with no secret', () => {
    expect(() => signatureHeader([], id, nowSeconds(), body)).toThrow(/at least one/);
  });
});
