// verifyWebhook against deliveries signed by standardwebhooks' own Webhook.sign (what the server
// signs with), and against every webhook example of the contract. The narrowing checks at the
// end are compile-time assertions: `npm run typecheck` (tsc, which turbo runs before the tests)
// fails when the union stops narrowing; at run time they also assert the example's content.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { parse } from 'yaml';
// The generated `webhooks` type is not exported by @deals/api-types (only paths, operations and
// components are); the test reads it from the generated file to check the union against it.
import type { webhooks } from '../../api-types/src/generated/deals.ts';
import { verifyWebhook, type WebhookEvent, type WebhookEventOf, type WebhookEventType, WebhookVerificationError } from '../src/index.ts';
import { startTestServer, type TestServer } from './support/test-server.ts';

// The contract's shape of a secret: whsec_ + base64 of 32 random bytes.
const secret = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
const otherSecret = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;

interface Example {
  value?: unknown;
  $ref?: string;
}
interface Contract {
  webhooks: Record<string, { post: { requestBody: { content: { 'application/json': { examples: Record<string, Example> } } } } }>;
  components: { examples: Record<string, Example> };
}
const contract = parse(readFileSync(createRequire(import.meta.url).resolve('@deals/contract/deals.yaml'), 'utf8')) as Contract;

/** Every example of every `webhooks` entry, $refs resolved: [webhook name, example name, event]. */
const webhookExamples = Object.entries(contract.webhooks).flatMap(([name, webhook]) =>
  Object.entries(webhook.post.requestBody.content['application/json'].examples).map(([exampleName, example]) => {
    const resolved = example.$ref ? contract.components.examples[example.$ref.replace('#/components/examples/', '')] : example;
    if (resolved?.value === undefined) throw new Error(`webhook ${name}: example ${exampleName} has no value`);
    return [name, exampleName, resolved.value as WebhookEvent] as const;
  }),
);

/** What the API sends: the body, and the three headers signed at `at` with `key`. */
function signed(event: unknown, { key = secret, at = new Date() }: { key?: string; at?: Date } = {}) {
  const body = JSON.stringify(event);
  const id = (event as { id: string }).id;
  return {
    body,
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(key).sign(id, at, body),
      'content-type': 'application/json',
    },
  };
}

function rejection(run: () => unknown): WebhookVerificationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return error as WebhookVerificationError;
  }
  throw new Error('verifyWebhook accepted the delivery');
}

const [, , dealCreated] = webhookExamples.find(([name]) => name === 'deal.created')!;

describe('verifyWebhook', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('accepts a delivery received over HTTP, with Node request headers and the raw body as a Buffer or a string', async () => {
    server = await startTestServer((_req, res) => {
      res.writeHead(204).end();
    });
    const { body, headers } = signed(dealCreated);
    await fetch(server.baseUrl, { method: 'POST', headers, body });
    const [received] = server.requests;
    expect(received?.headers['webhook-id']).toBe(dealCreated.id);
    expect(verifyWebhook(secret, received!.body, received!.headers)).toEqual(dealCreated);
    expect(verifyWebhook(secret, Buffer.from(received!.body), received!.headers)).toEqual(dealCreated);
  });

  it('accepts a Headers instance and a Uint8Array body (a fetch Request, as in a browser or an edge runtime)', async () => {
    const { body, headers } = signed(dealCreated);
    const request = new Request('https://receiver.example/hooks', { method: 'POST', headers, body });
    const bytes = new Uint8Array(await request.arrayBuffer());
    expect(verifyWebhook(secret, bytes, request.headers)).toEqual(dealCreated);
  });

  it('accepts header names in any case and the second signature of a secret rotation', () => {
    const { body, headers } = signed(dealCreated);
    const old = new Webhook(otherSecret).sign(dealCreated.id, new Date(), body);
    const rotated = { 'Webhook-Id': headers['webhook-id'], 'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'] };
    expect(verifyWebhook(secret, body, { ...rotated, 'webhook-signature': `${old} ${headers['webhook-signature']}` })).toEqual(dealCreated);
    expect(verifyWebhook(otherSecret, body, { ...rotated, 'webhook-signature': `${old} ${headers['webhook-signature']}` })).toEqual(
      dealCreated,
    );
  });

  it('rejects a body changed by a single byte', () => {
    const { body, headers } = signed(dealCreated);
    const tampered = body.replace('"volume":', '"volume":1');
    expect(tampered).not.toBe(body);
    expect(rejection(() => verifyWebhook(secret, tampered, headers)).reason).toBe('invalid_signature');
    // Re-serialised JSON is another text: receivers must verify the bytes as received.
    const reformatted = JSON.stringify(JSON.parse(body), null, 2);
    expect(rejection(() => verifyWebhook(secret, reformatted, headers)).reason).toBe('invalid_signature');
  });

  it('rejects another secret, and another webhook-id with the same body', () => {
    const { body, headers } = signed(dealCreated);
    expect(rejection(() => verifyWebhook(otherSecret, body, headers)).reason).toBe('invalid_signature');
    const replayedAs = { ...headers, 'webhook-id': '019cbd9f-0000-7000-8000-000000000000' };
    expect(rejection(() => verifyWebhook(secret, body, replayedAs)).reason).toBe('invalid_signature');
  });

  it('rejects a delivery signed more than 5 minutes ago or ahead, and accepts one within', () => {
    const minutes = (n: number) => new Date(Date.now() + n * 60_000);
    const old = signed(dealCreated, { at: minutes(-6) });
    const error = rejection(() => verifyWebhook(secret, old.body, old.headers));
    expect(error.reason).toBe('timestamp_too_old');
    expect(error.message).toMatch(/too old/);
    const ahead = signed(dealCreated, { at: minutes(6) });
    expect(rejection(() => verifyWebhook(secret, ahead.body, ahead.headers)).reason).toBe('timestamp_too_new');
    const recent = signed(dealCreated, { at: minutes(-4) });
    expect(verifyWebhook(secret, recent.body, recent.headers).id).toBe(dealCreated.id);
  });

  it('rejects missing headers and a timestamp that is not a number', () => {
    const { body, headers } = signed(dealCreated);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const { [name]: _dropped, ...rest } = headers;
      expect(rejection(() => verifyWebhook(secret, body, rest)).reason).toBe('missing_headers');
    }
    expect(rejection(() => verifyWebhook(secret, body, { ...headers, 'webhook-timestamp': 'yesterday' })).reason).toBe('invalid_timestamp');
  });

  it('rejects a correctly signed body that is not JSON, not an event, or not UTF-8', () => {
    const sign = (body: string | Buffer) => {
      const at = new Date();
      const signature = new Webhook(secret).sign('msg_1', at, body);
      return { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature };
    };
    expect(rejection(() => verifyWebhook(secret, '{"id":', sign('{"id":'))).reason).toBe('malformed_body');
    expect(rejection(() => verifyWebhook(secret, '[1,2]', sign('[1,2]'))).reason).toBe('malformed_body');
    expect(
      rejection(() => verifyWebhook(secret, '{"id":"x","type":"deal.created"}', sign('{"id":"x","type":"deal.created"}'))).reason,
    ).toBe('malformed_body');
    const notUtf8 = Buffer.from([0x7b, 0xff, 0x7d]);
    expect(rejection(() => verifyWebhook(secret, notUtf8, sign(notUtf8))).reason).toBe('malformed_body');
  });

  it('throws TypeError, not a verification error, for a secret that is no signing secret', () => {
    const { body, headers } = signed(dealCreated);
    expect(() => verifyWebhook('whsec_', body, headers)).toThrow(TypeError);
    expect(() => verifyWebhook('whsec_not base64!', body, headers)).toThrow(TypeError);
  });
});

describe("the contract's webhook examples", () => {
  it('has one example or more for each of the seven event types', () => {
    expect(new Set(webhookExamples.map(([name]) => name))).toEqual(
      new Set([
        'deal.created',
        'deal.updated',
        'deal.step_changed',
        'deal.deleted',
        'customer.created',
        'customer.updated',
        'webhook.test',
      ] satisfies WebhookEventType[]),
    );
  });

  it.each(webhookExamples)('%s (%s) verifies, is typed by its type, and is the event its entry names', (name, _example, event) => {
    const { body, headers } = signed(event);
    const verified = verifyWebhook(secret, body, headers);
    expect(verified).toEqual(event);
    expect(verified.type).toBe(name);
    expect(describeEvent(verified)).toMatch(new RegExp(`^${name.replace('.', '\\.')} `));
  });
});

/**
 * Narrows on `type` the way a receiver would. Each branch reads fields that exist only on its
 * types, so this function compiles only while the union narrows; the `never` check fails
 * compilation when the contract gains a type that is not handled here.
 */
function describeEvent(event: WebhookEvent): string {
  switch (event.type) {
    case 'deal.created':
      expectTypeOf(event.data.object.customers).toBeArray();
      return `deal.created ${event.data.object.name} v${event.data.version}`;
    case 'deal.updated':
    case 'deal.step_changed':
      return `${event.type} ${event.data.object.id} from ${event.data.previous_attributes.updated_at}`;
    case 'deal.deleted':
      return `deal.deleted ${event.data.object.deleted_at}`;
    case 'customer.created':
      return `customer.created ${event.data.object.last_name}`;
    case 'customer.updated':
      return `customer.updated ${Object.keys(event.data.previous_attributes).join(',')}`;
    case 'webhook.test':
      return `webhook.test ${event.data.endpoint_id}`;
    default:
      return assertNever(event);
  }
}

function assertNever(event: never): never {
  throw new Error(`unhandled event ${JSON.stringify(event)}`);
}

describe('types (checked by tsc)', () => {
  it('narrows by type', () => {
    const event = verifyWebhook(secret, signed(dealCreated).body, signed(dealCreated).headers);
    if (event.type === 'deal.created') {
      expectTypeOf(event.data.object.name).toEqualTypeOf<string>();
      expect(event.data.object.name).toBe((dealCreated as WebhookEventOf<'deal.created'>).data.object.name);
    }
    if (event.type === 'deal.deleted') {
      // @ts-expect-error a tombstone has no name
      void event.data.object.name;
    }
    if (event.type === 'webhook.test') {
      // @ts-expect-error a test delivery carries no object
      void event.data.object;
    }
    // @ts-expect-error only deal.updated, deal.step_changed and customer.updated carry previous_attributes
    void event.data.previous_attributes;
    expectTypeOf<WebhookEventOf<'customer.updated'>['data']['object']['id']>().toEqualTypeOf<string>();
    // Exactly the request bodies of the contract's `webhooks` section, no more, no fewer.
    type WebhookRequestBody = {
      [Name in keyof webhooks]: NonNullable<webhooks[Name]['post']>['requestBody']['content']['application/json'];
    }[keyof webhooks];
    expectTypeOf<WebhookEvent>().toEqualTypeOf<WebhookRequestBody>();
    expectTypeOf<WebhookEventType>().toEqualTypeOf<
      'deal.created' | 'deal.updated' | 'deal.step_changed' | 'deal.deleted' | 'customer.created' | 'customer.updated' | 'webhook.test'
    >();
  });
});
