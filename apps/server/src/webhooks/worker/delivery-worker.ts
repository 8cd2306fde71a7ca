// The webhook delivery worker (issue #7). It runs inside every server process by default and
// alone as `npm run worker`; any number of them share one database:
// - dispatch: events become deliveries (data/webhook-queue.ts dispatchEvents; one process at a
//   time, the others skip);
// - claim: due deliveries are leased to this worker (FOR UPDATE SKIP LOCKED), so two workers
//   never send the same delivery while its lease lasts;
// - send: signed per Standard Webhooks (send.ts), the event's stored payload byte for byte;
// - record: the attempt and the delivery's next state, batched (recorder.ts), only while the
//   lease is still this worker's.
// A crash loses nothing: a leased delivery whose outcome was never recorded is due again when
// its lease runs out. Wake-ups come by LISTEN/NOTIFY, with polling as the fallback.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import {
  type AttemptOutcome,
  type ClaimedDelivery,
  claimDeliveries,
  DELIVERIES_CHANNEL,
  DISPATCH_BATCH,
  dispatchEvents,
  recordAttempts,
  releaseLeases,
} from '../../data/webhook-queue.ts';
import type { Sql } from '../../db/sql.ts';
import { FAILING_DISABLE_AFTER_MS } from '../retry-schedule.ts';
import type { SecretBox } from '../secret-box.ts';
import { type AttemptResult, closeIdleConnections, sendWebhook } from '../send.ts';
import type { AddressPolicy } from '../ssrf.ts';
import { attemptOutcome } from './outcome.ts';
import { createRecorder } from './recorder.ts';
import { listenForWakeUps, type WakeListener } from './wake-listener.ts';

export type DeliveryWorkerOptions = {
  sql: Sql;
  /** The database to LISTEN on (a connection of its own); without it the worker only polls. */
  listenUrl?: string;
  log: Logger;
  box: SecretBox;
  policy: AddressPolicy;
  /** How long one attempt may take (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** The clock for due times, leases and signatures (tests advance it instead of sleeping). */
  now?: () => Date;
  /** For the retry jitter. */
  random?: () => number;
  /** How often to look for events and due deliveries without a wake-up. */
  pollMs?: number;
  /** Sends in flight in this process at most. */
  maxInFlight?: number;
  /** false: no background loop; the caller drives it with runOnce() (tests). */
  autoRun?: boolean;
  /** The sender (tests may wrap it); send.ts's by default. */
  send?: typeof sendWebhook;
};

export type DeliveryWorker = {
  readonly id: string;
  /** Look for work now (new deliveries were queued, say by redeliver or recover). */
  wake(): void;
  /** One dispatch and claim round; resolves when what it claimed has been sent and recorded. */
  runOnce(): Promise<{ dispatched: number; sent: number }>;
  /** Stops claiming, lets sends in flight finish (up to the timeout), gives back unsent leases. */
  close(): Promise<void>;
};

const CLAIM_BATCH = 100;
const ERROR_BACKOFF_MS = 2000;

/** Long enough for an attempt (timeoutMs) and its recording, with room for clock skew between processes. */
export function leaseMsFor(timeoutMs: number): number {
  return 2 * timeoutMs + 5000;
}

export function startDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { sql, log, box, policy, timeoutMs } = options;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const pollMs = options.pollMs ?? 200;
  const maxInFlight = options.maxInFlight ?? 200;
  const send = options.send ?? sendWebhook;
  const leaseMs = leaseMsFor(timeoutMs);
  const id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const wlog = log.child({ webhook_worker: id });

  const inFlight = new Map<string, { delivery: ClaimedDelivery; done: Promise<void> }>();
  let stopping = false;
  /** The last claim filled its batch: claim again as soon as there is room. */
  let backlog = false;

  let wakeUp: (() => void) | undefined;
  let woken = false;
  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  const waitForWake = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  const recorder = createRecorder(
    (batch: AttemptOutcome[]) =>
      recordAttempts(sql, { now: now(), workerId: id, failingDisableAfterMs: FAILING_DISABLE_AFTER_MS, outcomes: batch }),
    wlog,
    // A recorded delivery frees its endpoint's concurrency slot (counted by live leases).
    () => backlog && wake(),
  );

  const deliver = async (delivery: ClaimedDelivery): Promise<void> => {
    let secrets: string[];
    try {
      secrets = [box.open(delivery.secret), ...(delivery.previous_secret ? [box.open(delivery.previous_secret)] : [])];
    } catch (error) {
      // The server key does not open this endpoint's secret (a changed WEBHOOK_ENCRYPTION_KEY):
      // nothing can be signed. The lease runs out and the delivery is tried again later.
      wlog.error({ err: error, endpoint_id: delivery.endpoint_id }, 'cannot open the webhook signing secret with this server key');
      return;
    }
    let result: AttemptResult;
    try {
      result = await send({ url: delivery.url, eventId: delivery.event_id, payload: delivery.payload, secrets, timeoutMs, policy, now });
    } catch (error) {
      wlog.error(
        { err: error, delivery_id: delivery.id },
        'webhook send failed unexpectedly; the delivery is retried when its lease expires',
      );
      return;
    }
    recorder.add(attemptOutcome(delivery, result, now(), random));
  };

  const start = (delivery: ClaimedDelivery) => {
    const done = deliver(delivery).finally(() => {
      inFlight.delete(delivery.id);
      if (backlog) wake();
    });
    inFlight.set(delivery.id, { delivery, done });
  };

  /** One round: dispatch, then claim as much as there is room for; starts the sends. */
  const round = async (): Promise<{ dispatched: number; claimed: ClaimedDelivery[]; more: boolean }> => {
    const dispatched = await dispatchEvents(sql, now());
    const room = Math.min(CLAIM_BATCH, maxInFlight - inFlight.size);
    let claimed: ClaimedDelivery[] = [];
    if (room > 0) {
      claimed = await claimDeliveries(sql, { now: now(), workerId: id, leaseMs, limit: room });
      if (stopping) {
        await releaseLeases(sql, { now: now(), workerId: id, deliveries: claimed });
        claimed = [];
      }
      for (const delivery of claimed) start(delivery);
    }
    backlog = room <= 0 || claimed.length === room;
    return { dispatched: dispatched.events, claimed, more: dispatched.events === DISPATCH_BATCH || (backlog && room > 0) };
  };

  let listener: WakeListener | undefined;
  let loop: Promise<void> = Promise.resolve();
  if (options.autoRun !== false) {
    if (options.listenUrl) listener = listenForWakeUps({ url: options.listenUrl, channel: DELIVERIES_CHANNEL, log: wlog, onWake: wake });
    loop = (async () => {
      while (!stopping) {
        woken = false;
        let more = false;
        try {
          more = (await round()).more;
        } catch (error) {
          if (stopping) break;
          wlog.warn({ err: error }, 'webhook worker round failed; retrying');
          await waitForWake(ERROR_BACKOFF_MS);
          continue;
        }
        if (!more) await waitForWake(pollMs);
      }
    })();
  }

  let closed: Promise<void> | undefined;
  return {
    id,
    wake,
    async runOnce() {
      const { dispatched, claimed } = await round();
      await Promise.all(claimed.map((c) => inFlight.get(c.id)?.done));
      await recorder.idle();
      return { dispatched, sent: claimed.length };
    },
    close() {
      closed ??= (async () => {
        stopping = true;
        wake();
        await loop;
        await listener?.close();
        // Sends end by themselves within the timeout (send.ts enforces it); past that, their
        // leases are given back so another worker sends them without waiting for the lease.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([...inFlight.values()].map((f) => f.done)),
          new Promise((resolve) => {
            timer = setTimeout(resolve, timeoutMs + 1000);
          }),
        ]);
        clearTimeout(timer);
        await recorder.idle();
        const unfinished = [...inFlight.values()].map((f) => f.delivery);
        if (unfinished.length) {
          await releaseLeases(sql, { now: now(), workerId: id, deliveries: unfinished }).catch((error: unknown) =>
            wlog.warn({ err: error }, 'could not release webhook leases; they expire by themselves'),
          );
        }
        // Kept-alive sockets to receivers would otherwise hold the process for their idle timeout.
        closeIdleConnections();
        wlog.info({ released: unfinished.length }, 'webhook worker stopped');
      })();
      return closed;
    },
  };
}
