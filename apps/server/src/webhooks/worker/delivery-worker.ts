// The webhook delivery worker (issue #7). It runs inside every server process by default and
// alone as `npm run worker`; any number of them share one database. Two loops:
// - dispatch: events become deliveries (data/webhook-queue.ts dispatchEvents; one process at a
//   time, the others skip), every poll interval and at once again while there is a backlog;
// - claim: due deliveries are leased to this worker (FOR UPDATE SKIP LOCKED), so two workers
//   never send the same delivery while its lease lasts; woken by LISTEN/NOTIFY (new
//   deliveries anywhere), by this worker's own records (a freed endpoint slot), and by polling.
// Each claimed delivery is sent (send.ts: signed per Standard Webhooks, the event's stored
// payload byte for byte) in its endpoint's lane (lanes.ts: max_concurrency at a time), and its
// outcome recorded, batched (recorder.ts), only while the lease is still this worker's.
// A crash loses nothing: a leased delivery whose outcome was never recorded is due again when
// its lease runs out.
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
  LEASES_PER_SLOT,
  recordAttempts,
  releaseLeases,
} from '../../data/webhook-queue.ts';
import type { Sql } from '../../db/sql.ts';
import { FAILING_DISABLE_AFTER_MS } from '../retry-schedule.ts';
import type { SecretBox } from '../secret-box.ts';
import { type AttemptResult, closeIdleConnections, sendWebhook } from '../send.ts';
import type { AddressPolicy } from '../ssrf.ts';
import { createLanes } from './lanes.ts';
import { openedSecrets } from './opened-secrets.ts';
import { attemptOutcome } from './outcome.ts';
import { createRecorder } from './recorder.ts';
import { signal } from './signal.ts';
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
  /** Deliveries leased by this process at once (sending or waiting in their lane), at most. */
  maxInFlight?: number;
  /**
   * How long close() waits for sends in flight before giving their leases back (default: the
   * timeout, which bounds every send). A process with a shorter shutdown grace passes less.
   */
  drainMs?: number;
  /** false: no background loops; the caller drives the worker with runOnce() (tests). */
  autoRun?: boolean;
  /** The sender (tests may wrap it); send.ts's by default. */
  send?: typeof sendWebhook;
};

export type DeliveryWorker = {
  readonly id: string;
  /** Look for work now (new deliveries were queued, say by redeliver or recover). */
  wake(): void;
  /** One dispatch and one claim; resolves when what it claimed has been sent (or dropped) and recorded. */
  runOnce(): Promise<{ dispatched: number; sent: number }>;
  /** Stops claiming, lets sends in flight finish (up to the timeout), gives back unsent leases. */
  close(): Promise<void>;
};

const CLAIM_BATCH = 100;
const ERROR_BACKOFF_MS = 2000;

/**
 * A lease covers the wait in the endpoint's lane (at most LEASES_PER_SLOT − 1 sends ahead of
 * it per slot, each within the timeout), its own send, and its recording, with room for clock
 * skew between processes.
 */
export function leaseMsFor(timeoutMs: number): number {
  return (LEASES_PER_SLOT + 1) * timeoutMs + 5000;
}

export function startDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { sql, log, box, policy, timeoutMs } = options;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const pollMs = options.pollMs ?? 200;
  const maxInFlight = options.maxInFlight ?? 400;
  const send = options.send ?? sendWebhook;
  const leaseMs = leaseMsFor(timeoutMs);
  const id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const wlog = log.child({ webhook_worker: id });
  const secretsOf = openedSecrets(box);

  /** Leased by this worker and not yet recorded: resolves when sent and handed to the recorder, or dropped. */
  const inFlight = new Map<string, { delivery: ClaimedDelivery; done: Promise<void>; settle: () => void }>();
  let stopping = false;
  /** Attempts made (runOnce reports how many of its claims were really sent). */
  let attempts = 0;
  /** The last claim found work or had no room: claim again as soon as a delivery is recorded. */
  let backlog = false;
  const claimSignal = signal();
  const dispatchSignal = signal();

  const recorder = createRecorder(
    (batch: AttemptOutcome[]) =>
      recordAttempts(sql, { now: now(), workerId: id, failingDisableAfterMs: FAILING_DISABLE_AFTER_MS, outcomes: batch }),
    wlog,
    (result) => {
      // An endpoint disabled or deleted meanwhile (PATCH, DELETE, 5 days of failures) gets
      // nothing more: what waits for it in a lane is dropped and its leases given back, so a
      // claim fails them at once (disabled endpoint) instead of when the leases run out.
      const dropped = (result?.stopped ?? []).flatMap((endpoint) => lanes.dropWaiting(endpoint));
      if (dropped.length) {
        releaseLeases(sql, { now: now(), workerId: id, deliveries: dropped }).then(
          () => claimSignal.wake(),
          (error: unknown) => wlog.warn({ err: error }, 'could not release webhook leases; they expire by themselves'),
        );
      }
      // A recorded delivery frees its endpoint's lease (counted against its limit). Claim again
      // once a lane runs low, not after every record: then each claim takes a batch.
      if (backlog && lanes.hungry()) claimSignal.wake();
    },
  );

  const finish = (delivery: ClaimedDelivery) => {
    inFlight.get(delivery.id)?.settle();
    inFlight.delete(delivery.id);
  };

  const lanes = createLanes(async (delivery) => {
    const result = await attempt(delivery);
    if (result?.statusCode === 410) {
      // The endpoint is gone: its deliveries waiting here are not sent; recording this 410
      // disables the endpoint and fails them (they are still leased to us, never sent).
      lanes.dropWaiting(delivery);
    }
    finish(delivery);
  }, finish);

  /** Sends one delivery and hands its outcome to the recorder; undefined when nothing was sent. */
  const attempt = async (delivery: ClaimedDelivery): Promise<AttemptResult | undefined> => {
    let secrets: string[];
    try {
      secrets = [secretsOf.open(delivery.secret), ...(delivery.previous_secret ? [secretsOf.open(delivery.previous_secret)] : [])];
    } catch (error) {
      // The server key does not open this endpoint's secret (a changed WEBHOOK_ENCRYPTION_KEY):
      // nothing can be signed. The lease runs out and the delivery is tried again later.
      wlog.error({ err: error, endpoint_id: delivery.endpoint_id }, 'cannot open the webhook signing secret with this server key');
      return undefined;
    }
    try {
      const result = await send({
        url: delivery.url,
        eventId: delivery.event_id,
        payload: delivery.payload,
        secrets,
        timeoutMs,
        policy,
        now,
      });
      attempts++;
      recorder.add(attemptOutcome(delivery, result, now(), random));
      return result;
    } catch (error) {
      wlog.error(
        { err: error, delivery_id: delivery.id },
        'webhook send failed unexpectedly; the delivery is retried when its lease expires',
      );
      return undefined;
    }
  };

  const dispatch = async (): Promise<number> => {
    const { events, deliveries } = await dispatchEvents(sql, now());
    if (deliveries > 0) claimSignal.wake();
    return events;
  };

  /** Claims as much as there is room for and queues it in the lanes. */
  const claim = async (): Promise<{ claimed: ClaimedDelivery[]; full: boolean }> => {
    const room = Math.min(CLAIM_BATCH, maxInFlight - inFlight.size);
    if (room <= 0) {
      backlog = true;
      return { claimed: [], full: false };
    }
    let claimed = await claimDeliveries(sql, { now: now(), workerId: id, leaseMs, limit: room });
    if (stopping) {
      await releaseLeases(sql, { now: now(), workerId: id, deliveries: claimed });
      claimed = [];
    }
    for (const delivery of claimed) {
      let settle = () => {};
      const done = new Promise<void>((resolve) => {
        settle = resolve;
      });
      inFlight.set(delivery.id, { delivery, done, settle });
      lanes.add(delivery);
    }
    // A claim that found anything may have been cut short by an endpoint's limit: try again
    // when a delivery is recorded.
    backlog = claimed.length > 0;
    return { claimed, full: claimed.length === room };
  };

  /** Runs `step` until stopping; waits on `wake` (or the poll interval) unless it reports more work. */
  const loop = async (name: string, step: () => Promise<boolean>, wake: ReturnType<typeof signal>) => {
    // A database that is down (or not migrated yet) fails every step: one warning per minute.
    let lastWarning = 0;
    while (!stopping) {
      let more: boolean;
      try {
        more = await step();
        lastWarning = 0;
      } catch (error) {
        if (stopping) break;
        if (Date.now() - lastWarning >= 60_000) {
          lastWarning = Date.now();
          wlog.warn({ err: error }, `webhook ${name} failed; retrying every ${ERROR_BACKOFF_MS / 1000} s`);
        }
        await wake.wait(ERROR_BACKOFF_MS);
        continue;
      }
      if (!more) await wake.wait(pollMs);
    }
  };

  let listener: WakeListener | undefined;
  let loops: Promise<unknown> = Promise.resolve();
  if (options.autoRun !== false) {
    if (options.listenUrl) {
      listener = listenForWakeUps({ url: options.listenUrl, channel: DELIVERIES_CHANNEL, log: wlog, onWake: () => claimSignal.wake() });
    }
    loops = Promise.all([
      loop('dispatch', async () => (await dispatch()) === DISPATCH_BATCH, dispatchSignal),
      loop('claim', async () => (await claim()).full, claimSignal),
    ]);
  }

  let closed: Promise<void> | undefined;
  return {
    id,
    wake() {
      claimSignal.wake();
    },
    async runOnce() {
      const before = attempts;
      const dispatched = await dispatch();
      const { claimed } = await claim();
      await Promise.all(claimed.map((c) => inFlight.get(c.id)?.done));
      await recorder.idle();
      return { dispatched, sent: attempts - before };
    },
    close() {
      closed ??= (async () => {
        stopping = true;
        claimSignal.wake();
        dispatchSignal.wake();
        await loops;
        await listener?.close();
        // Deliveries still waiting in a lane are given back at once; sends end by themselves
        // within the timeout (send.ts enforces it); past that, their leases are given back too,
        // so another worker sends them without waiting for the lease to run out.
        const unsent = lanes.drainWaiting();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([...inFlight.values()].map((f) => f.done)),
          new Promise((resolve) => {
            timer = setTimeout(resolve, options.drainMs ?? timeoutMs + 1000);
          }),
        ]);
        clearTimeout(timer);
        await recorder.idle();
        const release = [...unsent, ...[...inFlight.values()].map((f) => f.delivery)];
        if (release.length) {
          await releaseLeases(sql, { now: now(), workerId: id, deliveries: release }).catch((error: unknown) =>
            wlog.warn({ err: error }, 'could not release webhook leases; they expire by themselves'),
          );
        }
        // Kept-alive sockets to receivers would otherwise hold the process for their idle timeout.
        closeIdleConnections();
        wlog.info({ released: release.length }, 'webhook worker stopped');
      })();
      return closed;
    },
  };
}
