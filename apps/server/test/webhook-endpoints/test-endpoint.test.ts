// testWebhookEndpoint against real receivers on 127.0.0.1: a signed `webhook.test` event that
// verifies with the `standardwebhooks` package (unmodified), answered with the attempt, never
// stored in the delivery log; during a rotation's grace period it carries both signatures.
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/ids.ts';
import { expectProblem, TIMESTAMP, UUID_V7 } from '../support/http.ts';
import { createEndpoint, deliveryRows, endpointBody, startReceiver, useEndpointWorld } from './endpoint-api.ts';

const t = useEndpointWorld();
const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
afterAll(() => Promise.all(receivers.map((r) => r.close())));

async function receiver(answer?: { status: number; reply?: string }) {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

const headersOf = (h: Record<string, string | string[] | undefined>) => ({
  'webhook-id': String(h['webhook-id']),
  'webhook-timestamp': String(h['webhook-timestamp']),
  'webhook-signature': String(h['webhook-signature']),
});

const test = (id: string, headers: Record<string, string> = {}) => t.call('POST', `/webhook-endpoints/${id}/test`, { headers });

describe('testWebhookEndpoint', () => {
  describe('200', () => {
    it('sends a signed webhook.test now and answers with the attempt; nothing is stored', async () => {
      const r = await receiver({ status: 200, reply: 'ok' });
      const endpoint = await createEndpoint(t, endpointBody(r.url));
      const reply = await test(endpoint.id, { 'X-Request-Id': 'my-test-request-1' });
      expect(reply.status, reply.text).toBe(200);
      expect(Object.keys(reply.json)).toEqual(['event_id', 'attempt']);
      expect(reply.json.event_id).toMatch(UUID_V7);
      expect(reply.json.attempt).toEqual({
        attempted_at: expect.stringMatching(TIMESTAMP),
        status_code: 200,
        duration_ms: expect.any(Number),
        error: null,
        response_body: 'ok',
      });

      expect(r.received).toHaveLength(1);
      const { headers, body } = r.received[0]!;
      expect(headers['content-type']).toMatch(/^application\/json/);
      expect(headers['webhook-id']).toBe(reply.json.event_id);
      const event = new Webhook(endpoint.secret).verify(body, headersOf(headers));
      expect(event).toEqual({
        id: reply.json.event_id,
        type: 'webhook.test',
        timestamp: expect.stringMatching(TIMESTAMP),
        data: { endpoint_id: endpoint.id },
        origin: { request_id: 'my-test-request-1', api_key_id: expect.stringMatching(UUID_V7) },
      });
      expect(Object.keys(event as object)).toEqual(['id', 'type', 'timestamp', 'data', 'origin']);
      const key = await t.server.db.pool.query('SELECT id::text FROM api_keys WHERE id = $1', [(event as any).origin.api_key_id]);
      expect(key.rowCount).toBe(1);

      expect(await deliveryRows(t, endpoint.id)).toEqual([]);
      const events = await t.server.db.pool.query('SELECT count(*)::int AS n FROM events WHERE id = $1', [reply.json.event_id]);
      expect(events.rows[0].n).toBe(0);
    });

    it('reports what the receiver answered, not retried: a 500 with its body', async () => {
      const r = await receiver({ status: 500, reply: 'Internal Server Error' });
      const endpoint = await createEndpoint(t, endpointBody(r.url));
      const reply = await test(endpoint.id);
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json.attempt).toMatchObject({ status_code: 500, error: 'http', response_body: 'Internal Server Error' });
      expect(r.received).toHaveLength(1);
      expect(await deliveryRows(t, endpoint.id)).toEqual([]);
    });

    it('a refused connection', async () => {
      const r = await receiver();
      await r.close();
      const endpoint = await createEndpoint(t, endpointBody(r.url));
      const reply = await test(endpoint.id);
      expect(reply.json.attempt).toMatchObject({ status_code: null, error: 'connect', response_body: null });
    });

    it('sends to a disabled endpoint too', async () => {
      const r = await receiver();
      const endpoint = await createEndpoint(t, endpointBody(r.url));
      await t.call('PATCH', `/webhook-endpoints/${endpoint.id}`, { body: { status: 'disabled' } });
      const reply = await test(endpoint.id);
      expect(reply.json.attempt.status_code).toBe(200);
      expect(r.received).toHaveLength(1);
    });

    it('during a rotation’s grace period it carries two signatures, one per secret; after a rotation with grace 0 only the new one verifies', async () => {
      const r = await receiver();
      const endpoint = await createEndpoint(t, endpointBody(r.url));
      const rotated = await t.call('POST', `/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: { grace_period_seconds: 3600 } });
      expect(rotated.status, rotated.text).toBe(200);
      await test(endpoint.id);
      const during = r.received.at(-1)!;
      expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
      for (const secret of [endpoint.secret, rotated.json.secret]) {
        expect(new Webhook(secret).verify(during.body, headersOf(during.headers))).toMatchObject({ type: 'webhook.test' });
      }

      const again = await t.call('POST', `/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: { grace_period_seconds: 0 } });
      await test(endpoint.id);
      const after = r.received.at(-1)!;
      expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(new Webhook(again.json.secret).verify(after.body, headersOf(after.headers))).toMatchObject({ type: 'webhook.test' });
      for (const old of [endpoint.secret, rotated.json.secret]) {
        expect(() => new Webhook(old).verify(after.body, headersOf(after.headers))).toThrow();
      }
    });

    it('a grace period that has run out no longer signs', async () => {
      const r = await receiver();
      const endpoint = await createEndpoint(t, endpointBody(r.url));
      const rotated = await t.call('POST', `/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: { grace_period_seconds: 3600 } });
      await t.server.db.pool.query(`UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`, [
        endpoint.id,
      ]);
      const shown = await t.call('GET', `/webhook-endpoints/${endpoint.id}`);
      expect(shown.json.previous_secret_expires_at).toBeNull();
      await test(endpoint.id);
      const sent = r.received.at(-1)!;
      expect(String(sent.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(() => new Webhook(endpoint.secret).verify(sent.body, headersOf(sent.headers))).toThrow();
      expect(new Webhook(rotated.json.secret).verify(sent.body, headersOf(sent.headers))).toBeTruthy();
    });
  });

  it('404 for an endpoint that does not exist', async () => {
    expectProblem(await test(uuidv7()), 404);
  });
});

describe('a POST without a body', () => {
  it('is what curl -X POST and the client send for the test operation; an operation that needs a body still answers 415', async () => {
    const r = await receiver();
    const endpoint = await createEndpoint(t, endpointBody(r.url));
    const headers = { 'X-Api-Key': t.world.apiKey, 'X-Department-Id': t.world.department.id };
    const bare = await fetch(`${t.server.baseUrl}/webhook-endpoints/${endpoint.id}/test`, { method: 'POST', headers });
    expect(bare.status).toBe(200);
    const create = await fetch(`${t.server.baseUrl}/webhook-endpoints`, { method: 'POST', headers });
    expect(create.status).toBe(415);
  });
});
