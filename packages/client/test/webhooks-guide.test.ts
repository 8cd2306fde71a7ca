// The Webhooks guide (the `Webhooks` tag of openapi/deals.yaml) teaches verification without
// the client in plain node:crypto. Its example is run here as published, against deliveries
// signed by standardwebhooks, so that the code partners copy cannot drift from what the API
// sends.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type VerifyDelivery = (secret: string, body: Buffer, headers: Record<string, string | undefined>) => unknown;

const contract = parse(readFileSync(createRequire(import.meta.url).resolve('@deals/contract/deals.yaml'), 'utf8')) as {
  tags: { name: string; description: string }[];
};
const guide = contract.tags.find((tag) => tag.name === 'Webhooks')?.description ?? '';
const nodeCryptoExample = /```js\n(import \{ createHmac, timingSafeEqual \} from 'node:crypto';[\s\S]*?)```/.exec(guide)?.[1];

const secret = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
const event = { id: '019cbd9f-0b2d-7e10-9a2b-3c4d5e6f7081', type: 'deal.deleted', data: { object: { id: 'x' }, version: 3 } };
const body = JSON.stringify(event);

function headersSignedAt(at: Date, ...keys: string[]): Record<string, string> {
  return {
    'webhook-id': event.id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': keys.map((key) => new Webhook(key).sign(event.id, at, body)).join(' '),
  };
}

describe("the Webhooks guide's node:crypto example", () => {
  let directory: string;
  let verifyDelivery: VerifyDelivery;
  beforeAll(async () => {
    if (!nodeCryptoExample) throw new Error('the Webhooks tag description has no ```js block importing node:crypto');
    directory = await mkdtemp(join(tmpdir(), 'webhooks-guide-'));
    const file = join(directory, 'verify-delivery.mjs');
    await writeFile(file, `${nodeCryptoExample}\nexport { verifyDelivery };\n`);
    ({ verifyDelivery } = (await import(pathToFileURL(file).href)) as { verifyDelivery: VerifyDelivery });
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('accepts a delivery signed with the secret, also as the second signature of a rotation', () => {
    expect(verifyDelivery(secret, Buffer.from(body), headersSignedAt(new Date(), secret))).toEqual(event);
    const other = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    expect(verifyDelivery(secret, Buffer.from(body), headersSignedAt(new Date(), other, secret))).toEqual(event);
  });

  it('rejects a changed body, another secret, a stale timestamp and missing headers', () => {
    const now = headersSignedAt(new Date(), secret);
    expect(() => verifyDelivery(secret, Buffer.from(body.replace('3', '4')), now)).toThrow('no valid webhook-signature');
    expect(() => verifyDelivery(`whsec_${Buffer.alloc(32, 2).toString('base64')}`, Buffer.from(body), now)).toThrow(
      'no valid webhook-signature',
    );
    const stale = headersSignedAt(new Date(Date.now() - 6 * 60_000), secret);
    expect(() => verifyDelivery(secret, Buffer.from(body), stale)).toThrow('stale webhook-timestamp');
    expect(() => verifyDelivery(secret, Buffer.from(body), { ...now, 'webhook-timestamp': 'soon' })).toThrow('stale webhook-timestamp');
    expect(() => verifyDelivery(secret, Buffer.from(body), { ...now, 'webhook-signature': undefined })).toThrow('missing webhook headers');
  });
});
