// Shared by the webhook-endpoint tests of this folder: the app with a captured log, the rows
// the operations leave, events and deliveries written as the change feed and the worker
// would write them, and a receiver on 127.0.0.1 that records what it is sent.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { uuidv7 } from '../../src/ids.ts';
import { createLogger } from '../../src/logger.ts';
import type { WebhookServices } from '../../src/webhooks/services.ts';
import { logCapture } from '../support/log-capture.ts';
import { testWebhookServices } from '../support/server.ts';
import { useWorld, type WorldContext } from '../support/world.ts';

export const WHSEC = /^whsec_[A-Za-z0-9+/]{43}=$/;

export type EndpointContext = WorldContext & { logs: ReturnType<typeof logCapture> };

/** useWorld with every log line kept (trace level: the most a server could ever log). */
export function useEndpointWorld(webhooks: Partial<WebhookServices> = {}): EndpointContext {
  const logs = logCapture();
  const t = useWorld({ log: createLogger('trace', logs.destination), webhooks: testWebhookServices(webhooks) }) as EndpointContext;
  t.logs = logs;
  return t;
}

export const endpointBody = (url = 'https://partner.example.net/hooks/deals', extra: Record<string, unknown> = {}) => ({
  url,
  enabled_events: ['deal.created', 'deal.updated'],
  description: 'Mirror of the Berlin pipeline',
  ...extra,
});

/** Creates an endpoint as the world's key in its first department (or `departmentId` with `apiKey`). */
export async function createEndpoint(
  t: WorldContext,
  body: Record<string, unknown> = endpointBody(),
  as: { apiKey?: string; departmentId?: string } = {},
): Promise<any> {
  const reply = await t.call('POST', '/webhook-endpoints', { body, ...as });
  expect(reply.status, reply.text).toBe(201);
  return reply.json;
}

/** The endpoint's row, timestamps as the API writes them. */
export async function endpointRow(t: WorldContext, id: string): Promise<Record<string, any> | undefined> {
  const { rows } = await t.server.db.pool.query(
    `SELECT e.*, e.tenant_id::text AS tenant_id, e.department_id::text AS department_id, e.id::text AS id,
            api_timestamp(e.created_at) AS created_at, api_timestamp(e.updated_at) AS updated_at,
            api_timestamp(e.failing_since) AS failing_since,
            api_timestamp(e.previous_secret_expires_at) AS previous_secret_expires_at,
            extract(epoch FROM e.previous_secret_expires_at - e.updated_at)::float AS grace_seconds
     FROM webhook_endpoints e WHERE e.id = $1`,
    [id],
  );
  return rows[0];
}

/** A UUIDv7 of millisecond `ms`, as the server would have made it then. */
export function uuidv7At(ms: number): string {
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}${uuidv7().slice(13)}`;
}

export type EventSeed = { type?: string; departmentId?: string | null; occurredAt?: Date; tenantId?: string };

/** An event row as a write would append it (payload shaped like a stored event), in the world's first department by default. */
export async function insertEvent(t: WorldContext, seed: EventSeed = {}): Promise<{ id: string; type: string }> {
  const at = seed.occurredAt ?? new Date();
  const id = uuidv7At(at.getTime());
  const type = seed.type ?? 'deal.created';
  const departmentId = seed.departmentId === undefined ? t.world.department.id : seed.departmentId;
  const payload = JSON.stringify({ id, type, timestamp: at.toISOString(), data: { object: { id }, version: 1 }, origin: {} });
  await t.server.db.pool.query(
    `INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, occurred_at, payload)
     VALUES ($1, $2, $3, $4, $2, 1, $5, $6)`,
    [seed.tenantId ?? t.world.tenant.tenant_id, id, departmentId, type, at, payload],
  );
  return { id, type };
}

export type DeliverySeed = { status: 'pending' | 'succeeded' | 'failed' | 'cancelled'; createdAt?: Date; attempts?: number };

/** A delivery row as the worker leaves it, with `attempts` failed attempts (500s). */
export async function insertDelivery(
  t: WorldContext,
  endpointId: string,
  event: { id: string; type: string },
  seed: DeliverySeed,
): Promise<string> {
  const id = uuidv7();
  const created = seed.createdAt ?? new Date();
  const attempts = seed.attempts ?? (seed.status === 'pending' ? 0 : 1);
  await t.server.db.pool.query(
    `INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, event_type, status, attempt_count, next_attempt_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $6 = 'pending' THEN $8::timestamptz + interval '1 hour' END, $8, $8)`,
    [t.world.tenant.tenant_id, id, endpointId, event.id, event.type, seed.status, attempts, created],
  );
  for (let n = 1; n <= attempts; n++) {
    await t.server.db.pool.query(
      `INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, attempted_at, status_code, duration_ms, error, response_body)
       VALUES ($1, $2, $3::int, $4::timestamptz + make_interval(secs => $3::int), 500, 12, 'http', 'Internal Server Error')`,
      [t.world.tenant.tenant_id, id, n, created],
    );
  }
  return id;
}

export async function deliveryRows(t: WorldContext, endpointId: string): Promise<Record<string, any>[]> {
  const { rows } = await t.server.db.pool.query(
    `SELECT w.id::text AS id, w.event_id::text AS event_id, w.event_type, w.status, w.attempt_count,
            w.next_attempt_at, w.created_at
     FROM webhook_deliveries w WHERE w.endpoint_id = $1 ORDER BY w.created_at, w.id`,
    [endpointId],
  );
  return rows;
}

export type Received = { headers: http.IncomingHttpHeaders; body: string };

/** An HTTP receiver on 127.0.0.1 that records every request and answers `status` with `reply`. */
export async function startReceiver(answer: { status: number; reply?: string } = { status: 200, reply: 'ok' }) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.reply ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    answer,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
