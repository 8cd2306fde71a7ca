// What the delivery tests share: receivers (real node:http servers on 127.0.0.1 that verify
// every request with the `standardwebhooks` package, unmodified), and endpoints and events
// written straight into the database, sealed with the server's secret box.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Database } from '../../src/db/database.ts';
import { uuidv7 } from '../../src/ids.ts';
import { newSigningSecret, type SecretBox, secretBox } from '../../src/webhooks/secret-box.ts';

export const TEST_KEY = randomBytes(32).toString('base64');
export const box: SecretBox = secretBox(TEST_KEY);

export type Received = {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  webhookId: string;
};

/** What the receiver answers a request with (status, headers, body, delay); 200 by default. */
export type Answer = { status?: number; headers?: Record<string, string>; body?: string | Buffer; delayMs?: number };

export type Receiver = {
  url: string;
  port: number;
  received: Received[];
  /** Answers the next requests with these, in order; then the fallback (200 unless `always` changed it). */
  answer(...answers: Answer[]): void;
  always(answer: Answer): void;
  /** Requests received and not yet answered. */
  inFlight(): number;
  /** The most requests that were unanswered at once. */
  peakInFlight(): number;
  /** Every received request whose signature verifies with `secret` (standardwebhooks, clock tolerance 5 min). */
  verifiedWith(secret: string): Received[];
  close(): Promise<void>;
};

export async function startReceiver(path = '/hook'): Promise<Receiver> {
  const received: Received[] = [];
  const queue: Answer[] = [];
  let fallback: Answer = {};
  let unanswered = 0;
  let peak = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        at: Date.now(),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        webhookId: String(req.headers['webhook-id']),
      });
      const a = queue.shift() ?? fallback;
      unanswered++;
      peak = Math.max(peak, unanswered);
      const reply = () => {
        unanswered--;
        if (res.destroyed) return;
        res.writeHead(a.status ?? 200, a.headers ?? {});
        res.end(a.body ?? '');
      };
      if (a.delayMs) setTimeout(reply, a.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    received,
    answer: (...answers) => void queue.push(...answers),
    always: (answer) => {
      fallback = answer;
    },
    inFlight: () => unanswered,
    peakInFlight: () => peak,
    verifiedWith: (secret) => received.filter((r) => verifies(secret, r)),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function verifies(secret: string, r: Received): boolean {
  try {
    new Webhook(secret).verify(r.body, {
      'webhook-id': String(r.headers['webhook-id']),
      'webhook-timestamp': String(r.headers['webhook-timestamp']),
      'webhook-signature': String(r.headers['webhook-signature']),
    });
    return true;
  } catch {
    return false;
  }
}

export type TestEndpoint = { id: string; secret: string; tenantId: string; departmentId: string };

/** An enabled endpoint, as the API's create writes it (secret sealed with `box`). */
export async function insertEndpoint(
  db: Database,
  e: { tenantId: string; departmentId: string; url: string; enabledEvents?: string[]; maxConcurrency?: number },
): Promise<TestEndpoint> {
  const id = uuidv7();
  const secret = newSigningSecret();
  await db.pool.query(
    `INSERT INTO webhook_endpoints (tenant_id, id, department_id, url, enabled_events, secret, max_concurrency, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now())`,
    [e.tenantId, id, e.departmentId, e.url, e.enabledEvents ?? ['*'], box.seal(secret), e.maxConcurrency ?? 10],
  );
  return { id, secret, tenantId: e.tenantId, departmentId: e.departmentId };
}

export type TestEvent = { id: string; payload: string };

/**
 * An event row as the API's writes append them (the payload is a stand-in with the event's
 * shape; its bytes are what must arrive). Runs on `client` when given (an open transaction).
 */
export async function insertEvent(
  db: Pick<Database['pool'], 'query'>,
  e: { tenantId: string; departmentId: string | null; type: string; resourceId?: string },
): Promise<TestEvent> {
  const id = uuidv7();
  const resourceId = e.resourceId ?? uuidv7();
  const payload = JSON.stringify({
    id,
    type: e.type,
    timestamp: new Date().toISOString(),
    data: { object: { id: resourceId, note: 'ünïcødé ✓' }, version: 1 },
    origin: { request_id: null, api_key_id: null },
  });
  await db.query(
    `INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, occurred_at, payload)
     VALUES ($1, $2, $3, $4, $5, 1, now(), $6)`,
    [e.tenantId, id, e.departmentId, e.type, resourceId, payload],
  );
  return { id, payload };
}

export type DeliveryRow = {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: string;
  attempt_count: number;
  next_attempt_at: Date | null;
  lease_expires_at: Date | null;
  leased_by: string | null;
};

export async function deliveriesOf(db: Database, endpointId: string): Promise<DeliveryRow[]> {
  const { rows } = await db.pool.query<DeliveryRow>(
    `SELECT id, event_id, endpoint_id, status, attempt_count, next_attempt_at, lease_expires_at, leased_by
     FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY created_at, id`,
    [endpointId],
  );
  return rows;
}

export type AttemptRow = {
  attempt: number;
  attempted_at: Date;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_body: string | null;
};

export async function attemptsOf(db: Database, deliveryId: string): Promise<AttemptRow[]> {
  const { rows } = await db.pool.query<AttemptRow>(
    `SELECT attempt, attempted_at, status_code, duration_ms, error, response_body
     FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt`,
    [deliveryId],
  );
  return rows;
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.now()) {
  let t = start;
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
    set(date: Date) {
      t = date.getTime();
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
