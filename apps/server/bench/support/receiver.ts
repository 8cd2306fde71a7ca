// The webhook receiver of bench/webhooks.ts: node:http on 127.0.0.1 that answers 200 at once
// and records, per endpoint path, when each delivery's body was complete. Signatures are
// verified after the measurement (verifyAll), so the hot path is only "read, note, answer".
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';
import { onCleanup } from './cleanup.ts';

export type Received = {
  /** webhook-id: the event id. */
  id: string;
  /** performance.now() when the body was complete (the same clock as the bench's writes). */
  at: number;
  body: string;
  headers: { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };
};

export type WaitEnd = 'complete' | 'stalled' | 'deadline';

export type Receiver = {
  origin: string;
  /** Deliveries per path, in arrival order (e.g. '/hooks/0'). */
  received(path: string): Received[];
  /** Deliveries to every path so far. */
  count(): number;
  /**
   * Waits until `path` holds `n` deliveries with distinct ids ('complete'), or `stallMs` passed
   * without any new delivery ('stalled'), or `deadline` (performance.now()) passed ('deadline').
   */
  waitFor(path: string, n: number, stallMs: number, deadline?: number): Promise<WaitEnd>;
  stop(): Promise<void>;
};

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : (v ?? '');
};

export async function startReceiver(): Promise<Receiver> {
  const byPath = new Map<string, Received[]>();
  const distinct = new Map<string, Set<string>>();
  let total = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const path = req.url ?? '/';
      const id = header(req, 'webhook-id');
      let list = byPath.get(path);
      if (!list) {
        list = [];
        byPath.set(path, list);
        distinct.set(path, new Set());
      }
      list.push({
        id,
        at,
        body: Buffer.concat(chunks).toString('utf8'),
        headers: {
          'webhook-id': id,
          'webhook-timestamp': header(req, 'webhook-timestamp'),
          'webhook-signature': header(req, 'webhook-signature'),
        },
      });
      distinct.get(path)!.add(id);
      total++;
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const stop = onCleanup('stop the webhook receiver', async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    received: (path) => byPath.get(path) ?? [],
    count: () => total,
    async waitFor(path, n, stallMs, deadline = Number.POSITIVE_INFINITY) {
      let last = total;
      let lastChange = Date.now();
      while ((distinct.get(path)?.size ?? 0) < n) {
        // Polling is enough: the measured times come from `at`, not from when this wakes.
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (performance.now() > deadline) return 'deadline';
        if (total !== last) {
          last = total;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > stallMs) return 'stalled';
      }
      return 'complete';
    },
    stop,
  };
}

/** Verifies every delivery with the `standardwebhooks` package, unmodified; returns the failures. */
export function verifyAll(deliveries: Received[], secret: string): number {
  const webhook = new Webhook(secret);
  let failures = 0;
  for (const d of deliveries) {
    try {
      webhook.verify(d.body, d.headers);
    } catch {
      failures++;
    }
  }
  return failures;
}

export type DeliveryCounts = { received: number; distinct: number; duplicates: number };

export function counts(deliveries: Received[]): DeliveryCounts {
  const distinct = new Set(deliveries.map((d) => d.id)).size;
  return { received: deliveries.length, distinct, duplicates: deliveries.length - distinct };
}
