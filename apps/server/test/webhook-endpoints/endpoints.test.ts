// The webhook endpoint operations over real HTTP (create, list, get, update, delete, rotate the
// secret), the rows they leave, and the signing secret: shown in the answers to create and
// rotate only, sealed in the database, never logged.
import { afterAll, describe, expect, it } from 'vitest';
import { basePath } from '../../src/contract.ts';
import { uuidv7 } from '../../src/ids.ts';
import { secretBox } from '../../src/webhooks/secret-box.ts';
import { expectProblem, TIMESTAMP, UUID_V7 } from '../support/http.ts';
import { TEST_WEBHOOK_KEY } from '../support/server.ts';
import {
  createEndpoint,
  deliveryRows,
  endpointBody,
  endpointRow,
  insertDelivery,
  insertEvent,
  useEndpointWorld,
  WHSEC,
} from './endpoint-api.ts';

const t = useEndpointWorld();
const box = secretBox(TEST_WEBHOOK_KEY);
const ATTRIBUTES = [
  'id',
  'url',
  'enabled_events',
  'description',
  'status',
  'disabled_reason',
  'previous_secret_expires_at',
  'created_at',
  'updated_at',
];
/** Every secret answered by this file: none may be in the database in the clear or in the log. */
const secrets: string[] = [];

afterAll(async () => {
  expect(secrets.length).toBeGreaterThan(3);
  const log = t.logs.text();
  expect(log).toContain('"msg":"request"'); // the log was captured at all
  const { rows } = await t.server.db.pool.query(
    `SELECT string_agg(concat_ws(' ', e::text, encode(e.secret, 'escape'), encode(coalesce(e.previous_secret, ''), 'escape')), ' ') AS dump
     FROM webhook_endpoints e`,
  );
  for (const secret of secrets) {
    expect(log).not.toContain(secret);
    expect(log).not.toContain(secret.slice('whsec_'.length));
    expect(rows[0].dump).not.toContain(secret.slice('whsec_'.length));
  }
});

const remember = (secret: string) => {
  secrets.push(secret);
  return secret;
};

describe('createWebhookEndpoint', () => {
  describe('201', () => {
    it('answers the endpoint with its new secret and Location, and stores the secret sealed', async () => {
      const reply = await t.call('POST', '/webhook-endpoints', { body: endpointBody() });
      expect(reply.status, reply.text).toBe(201);
      const endpoint = reply.json;
      expect(Object.keys(endpoint)).toEqual([...ATTRIBUTES, 'secret']);
      expect(endpoint).toMatchObject({
        url: 'https://partner.example.net/hooks/deals',
        enabled_events: ['deal.created', 'deal.updated'],
        description: 'Mirror of the Berlin pipeline',
        status: 'enabled',
        disabled_reason: null,
        previous_secret_expires_at: null,
      });
      expect(endpoint.id).toMatch(UUID_V7);
      expect(endpoint.created_at).toMatch(TIMESTAMP);
      expect(endpoint.updated_at).toBe(endpoint.created_at);
      expect(remember(endpoint.secret)).toMatch(WHSEC);
      expect(reply.headers.get('location')).toBe(`${basePath}/webhook-endpoints/${endpoint.id}`);

      const row = await endpointRow(t, endpoint.id);
      expect(row).toMatchObject({
        tenant_id: t.world.tenant.tenant_id,
        department_id: t.world.department.id,
        url: endpoint.url,
        enabled_events: ['deal.created', 'deal.updated'],
        description: 'Mirror of the Berlin pipeline',
        status: 'enabled',
        disabled_reason: null,
        previous_secret: null,
        failing_since: null,
        max_concurrency: 10,
        version: 1,
        created_at: endpoint.created_at,
        updated_at: endpoint.updated_at,
      });
      // Sealed: not the secret's text nor its key bytes, and only the server key opens it.
      const sealed: Buffer = row!.secret;
      expect(sealed.toString('utf8')).not.toContain(endpoint.secret);
      expect(sealed.includes(Buffer.from(endpoint.secret.slice(6), 'base64'))).toBe(false);
      expect(box.open(sealed)).toBe(endpoint.secret);
      expect(() => secretBox(Buffer.alloc(32, 9).toString('base64')).open(sealed)).toThrow();
    });

    it('gives every endpoint its own secret; description is optional; ["*"] subscribes to everything', async () => {
      const a = await createEndpoint(t, { url: 'https://a.example.net/h', enabled_events: ['*'] });
      const b = await createEndpoint(t, { url: 'https://b.example.net/h', enabled_events: ['*'] });
      expect(a.secret).not.toBe(b.secret);
      remember(a.secret);
      remember(b.secret);
      expect(a).toMatchObject({ enabled_events: ['*'], description: null });
    });

    it('accepts http and 127.0.0.1 on a server that allows private networks (local development)', async () => {
      const endpoint = await createEndpoint(t, endpointBody('http://127.0.0.1:9/hooks'));
      remember(endpoint.secret);
      expect(endpoint.url).toBe('http://127.0.0.1:9/hooks');
    });
  });

  describe('422', () => {
    it.each([
      ['an unknown event type', { url: 'https://x.example.net/h', enabled_events: ['deal.exploded'] }, 'enabled_events'],
      ['no event types', { url: 'https://x.example.net/h', enabled_events: [] }, 'enabled_events'],
      ['no url', { enabled_events: ['*'] }, 'url'],
      ['a url that is not one', { url: 'not a url at all', enabled_events: ['*'] }, 'url'],
      ['an unknown field', { url: 'https://x.example.net/h', enabled_events: ['*'], secret: 'whsec_mine' }, 'secret'],
    ])('%s, and stores nothing', async (_name, body, field) => {
      const before = await t.server.db.pool.query('SELECT count(*)::int AS n FROM webhook_endpoints');
      const problem = expectProblem(await t.call('POST', '/webhook-endpoints', { body }), 422);
      expect(Object.keys(problem.errors ?? {}).some((f) => f === field || f.startsWith(`${field}.`))).toBe(true);
      const after = await t.server.db.pool.query('SELECT count(*)::int AS n FROM webhook_endpoints');
      expect(after.rows[0].n).toBe(before.rows[0].n);
    });

    it('refuses a scheme other than http(s), naming why', async () => {
      const problem = expectProblem(await t.call('POST', '/webhook-endpoints', { body: endpointBody('ftp://x.example.net/h') }), 422);
      expect(problem.errors?.url?.[0]).toMatch(/must use https or http/);
      expect(problem.detail).toMatch(/must use https or http/);
    });
  });
});

describe('listWebhookEndpoints', () => {
  it('200: the department’s endpoints oldest first, without secrets, paginated', async () => {
    const { rows } = await t.server.db.pool.query(
      'SELECT id::text FROM webhook_endpoints WHERE department_id = $1 ORDER BY created_at, id',
      [t.world.department.id],
    );
    const seen: any[] = [];
    let cursor: string | null = null;
    do {
      const reply = await t.call('GET', `/webhook-endpoints?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json.data.length).toBeLessThanOrEqual(2);
      seen.push(...reply.json.data);
      cursor = reply.json.next_cursor;
    } while (cursor);
    expect(seen.map((e) => e.id)).toEqual(rows.map((r) => r.id));
    expect(seen.length).toBeGreaterThan(2);
    for (const endpoint of seen) expect(Object.keys(endpoint)).toEqual(ATTRIBUTES);
  });

  it('400 for a cursor of another query', async () => {
    expectProblem(await t.call('GET', '/webhook-endpoints?cursor=eyJrIjoiMSJ9'), 400);
  });
});

describe('getWebhookEndpoint', () => {
  it('200: the endpoint without its secret', async () => {
    const created = await createEndpoint(t);
    remember(created.secret);
    const reply = await t.call('GET', `/webhook-endpoints/${created.id}`);
    expect(reply.status, reply.text).toBe(200);
    const { secret: _secret, ...shown } = created;
    expect(reply.json).toEqual(shown);
  });

  it('404 for an id that does not exist', async () => {
    const problem = expectProblem(await t.call('GET', `/webhook-endpoints/${uuidv7()}`), 404);
    expect(problem.detail).toBe('No webhook endpoint with this id exists in this department.');
  });
});

describe('updateWebhookEndpoint', () => {
  describe('200', () => {
    it('changes only the fields sent, bumps version and updated_at', async () => {
      const created = await createEndpoint(t);
      remember(created.secret);
      const reply = await t.call('PATCH', `/webhook-endpoints/${created.id}`, {
        body: { url: 'https://new.example.net/h', enabled_events: ['*'], description: null },
      });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json).toMatchObject({ url: 'https://new.example.net/h', enabled_events: ['*'], description: null, status: 'enabled' });
      expect(reply.json.updated_at > created.updated_at).toBe(true);
      expect(reply.json.created_at).toBe(created.created_at);
      const row = await endpointRow(t, created.id);
      expect(row).toMatchObject({ url: 'https://new.example.net/h', enabled_events: ['*'], description: null, version: 2 });
      expect(box.open(row!.secret)).toBe(created.secret); // the secret is not touched
      const again = await t.call('PATCH', `/webhook-endpoints/${created.id}`, { body: { description: 'kept' } });
      expect(again.json).toMatchObject({ url: 'https://new.example.net/h', enabled_events: ['*'], description: 'kept' });
    });

    it('status disabled records a manual disable and fails the pending deliveries; enabled clears the reason and the failure streak', async () => {
      const created = await createEndpoint(t);
      remember(created.secret);
      const event = await insertEvent(t);
      await insertDelivery(t, created.id, event, { status: 'pending' });
      const done = await insertDelivery(t, created.id, await insertEvent(t), { status: 'succeeded', attempts: 1 });

      const disabled = await t.call('PATCH', `/webhook-endpoints/${created.id}`, { body: { status: 'disabled' } });
      expect(disabled.status, disabled.text).toBe(200);
      expect(disabled.json).toMatchObject({ status: 'disabled', disabled_reason: 'manual' });
      expect(await endpointRow(t, created.id)).toMatchObject({ status: 'disabled', disabled_reason: 'manual' });
      const deliveries = await deliveryRows(t, created.id);
      expect(deliveries.map((d) => [d.event_id, d.status, d.next_attempt_at])).toEqual([
        [event.id, 'failed', null],
        [expect.any(String), 'succeeded', null],
      ]);
      expect(deliveries[1]!.id).toBe(done);

      // As if the worker had disabled it after 5 days of failures.
      await t.server.db.pool.query(
        `UPDATE webhook_endpoints SET disabled_reason = 'failing', failing_since = now() - interval '5 days' WHERE id = $1`,
        [created.id],
      );
      const stillDisabled = await t.call('PATCH', `/webhook-endpoints/${created.id}`, { body: { status: 'disabled' } });
      expect(stillDisabled.json.disabled_reason).toBe('failing'); // disabling again does not hide why

      const enabled = await t.call('PATCH', `/webhook-endpoints/${created.id}`, { body: { status: 'enabled' } });
      expect(enabled.json).toMatchObject({ status: 'enabled', disabled_reason: null });
      expect(await endpointRow(t, created.id)).toMatchObject({ status: 'enabled', disabled_reason: null, failing_since: null });
    });
  });

  describe('404', () => {
    it('for an id that does not exist', async () => {
      expectProblem(await t.call('PATCH', `/webhook-endpoints/${uuidv7()}`, { body: { description: 'x' } }), 404);
    });
  });

  describe('422', () => {
    it.each([
      ['an empty patch', {}],
      ['an unknown status', { status: 'paused' }],
      ['a url that is not one', { url: 'nope' }],
      ['url null', { url: null }],
    ])('%s, and changes nothing', async (_name, body) => {
      const created = await createEndpoint(t);
      remember(created.secret);
      expectProblem(await t.call('PATCH', `/webhook-endpoints/${created.id}`, { body }), 422);
      expect(await endpointRow(t, created.id)).toMatchObject({ version: 1, url: created.url });
    });
  });
});

describe('deleteWebhookEndpoint', () => {
  it('204: the endpoint, its deliveries and their attempts are gone', async () => {
    const created = await createEndpoint(t);
    remember(created.secret);
    const delivery = await insertDelivery(t, created.id, await insertEvent(t), { status: 'failed', attempts: 2 });
    await insertDelivery(t, created.id, await insertEvent(t), { status: 'pending' });
    const reply = await t.call('DELETE', `/webhook-endpoints/${created.id}`);
    expect(reply.status, reply.text).toBe(204);
    expect(reply.text).toBe('');
    expect(await endpointRow(t, created.id)).toBeUndefined();
    expect(await deliveryRows(t, created.id)).toEqual([]);
    const attempts = await t.server.db.pool.query('SELECT count(*)::int AS n FROM webhook_attempts WHERE delivery_id = $1', [delivery]);
    expect(attempts.rows[0].n).toBe(0);
    expectProblem(await t.call('GET', `/webhook-endpoints/${created.id}`), 404);
  });

  it('404 for an id that does not exist, or deleted already', async () => {
    const created = await createEndpoint(t);
    remember(created.secret);
    expect((await t.call('DELETE', `/webhook-endpoints/${created.id}`)).status).toBe(204);
    expectProblem(await t.call('DELETE', `/webhook-endpoints/${created.id}`), 404);
  });
});

describe('rotateWebhookSecret', () => {
  describe('200', () => {
    it('a new secret; the old one keeps signing for the grace period (default one day)', async () => {
      const created = await createEndpoint(t);
      remember(created.secret);
      const reply = await t.call('POST', `/webhook-endpoints/${created.id}/rotate-secret`, { body: {} });
      expect(reply.status, reply.text).toBe(200);
      expect(Object.keys(reply.json)).toEqual([...ATTRIBUTES, 'secret']);
      expect(remember(reply.json.secret)).toMatch(WHSEC);
      expect(reply.json.secret).not.toBe(created.secret);
      expect(reply.json.previous_secret_expires_at).toMatch(TIMESTAMP);
      const row = await endpointRow(t, created.id);
      expect(box.open(row!.secret)).toBe(reply.json.secret);
      expect(box.open(row!.previous_secret)).toBe(created.secret);
      expect(row).toMatchObject({ version: 2, previous_secret_expires_at: reply.json.previous_secret_expires_at, grace_seconds: 86_400 });
      expect(reply.json.updated_at).toBe(row!.updated_at);
    });

    it('grace_period_seconds sets the period; a rotation during one ends it (the secret before is dropped)', async () => {
      const created = await createEndpoint(t);
      remember(created.secret);
      const first = await t.call('POST', `/webhook-endpoints/${created.id}/rotate-secret`, { body: { grace_period_seconds: 600 } });
      remember(first.json.secret);
      expect((await endpointRow(t, created.id))!.grace_seconds).toBe(600);
      const second = await t.call('POST', `/webhook-endpoints/${created.id}/rotate-secret`, { body: { grace_period_seconds: 604_800 } });
      remember(second.json.secret);
      const row = await endpointRow(t, created.id);
      expect(box.open(row!.secret)).toBe(second.json.secret);
      expect(box.open(row!.previous_secret)).toBe(first.json.secret);
      expect(row!.grace_seconds).toBe(604_800);
    });

    it('grace 0: no previous secret at all', async () => {
      const created = await createEndpoint(t);
      remember(created.secret);
      const reply = await t.call('POST', `/webhook-endpoints/${created.id}/rotate-secret`, { body: { grace_period_seconds: 0 } });
      expect(reply.status, reply.text).toBe(200);
      remember(reply.json.secret);
      expect(reply.json.previous_secret_expires_at).toBeNull();
      expect(await endpointRow(t, created.id)).toMatchObject({ previous_secret: null, previous_secret_expires_at: null });
    });
  });

  it('404 for an id that does not exist', async () => {
    expectProblem(await t.call('POST', `/webhook-endpoints/${uuidv7()}/rotate-secret`, { body: {} }), 404);
  });

  it.each([[-1], [604_801], [1.5], ['60']])('422 for grace_period_seconds %j, and the secret is unchanged', async (grace) => {
    const created = await createEndpoint(t);
    remember(created.secret);
    expectProblem(await t.call('POST', `/webhook-endpoints/${created.id}/rotate-secret`, { body: { grace_period_seconds: grace } }), 422);
    const row = await endpointRow(t, created.id);
    expect(box.open(row!.secret)).toBe(created.secret);
    expect(row!.version).toBe(1);
  });
});
