// One lane per endpoint: the deliveries this worker leased for it, sent at most
// max_concurrency at a time, the rest waiting their turn (data/webhook-queue.ts leases up to
// LEASES_PER_SLOT × max_concurrency, so the next one is at hand when a send ends).
import type { ClaimedDelivery } from '../../data/webhook-queue.ts';

export type Lanes = {
  /** Queues a delivery; `send` runs when its endpoint has a free slot. */
  add(delivery: ClaimedDelivery): void;
  /** Drops an endpoint's waiting deliveries (it answered 410, or was disabled or deleted: nothing more goes to it). */
  dropWaiting(endpoint: { tenant_id: string; endpoint_id: string }): ClaimedDelivery[];
  /** Drops every waiting delivery (stopping); returns them. */
  drainWaiting(): ClaimedDelivery[];
  /**
   * Whether some lane runs low: fewer than two rounds of sends wait in it (or no lane exists).
   * Claiming again before that costs a statement for a few deliveries each time.
   */
  hungry(): boolean;
};

type Lane = { running: number; waiting: ClaimedDelivery[] };

export function createLanes(send: (delivery: ClaimedDelivery) => Promise<void>, dropped: (delivery: ClaimedDelivery) => void): Lanes {
  const lanes = new Map<string, Lane>();
  const keyOf = (d: { tenant_id: string; endpoint_id: string }) => `${d.tenant_id}/${d.endpoint_id}`;

  const pump = (key: string) => {
    const lane = lanes.get(key);
    if (!lane) return;
    while (lane.waiting.length && lane.running < lane.waiting[0]!.max_concurrency) {
      const next = lane.waiting.shift()!;
      lane.running++;
      void send(next).finally(() => {
        lane.running--;
        pump(key);
      });
    }
    if (lane.running === 0 && lane.waiting.length === 0) lanes.delete(key);
  };

  const drop = (lane: Lane) => {
    const waiting = lane.waiting.splice(0);
    for (const d of waiting) dropped(d);
    return waiting;
  };

  return {
    add(delivery) {
      const key = keyOf(delivery);
      const lane = lanes.get(key) ?? { running: 0, waiting: [] };
      lanes.set(key, lane);
      lane.waiting.push(delivery);
      pump(key);
    },
    dropWaiting(endpoint) {
      const lane = lanes.get(keyOf(endpoint));
      return lane ? drop(lane) : [];
    },
    drainWaiting() {
      return [...lanes.values()].flatMap(drop);
    },
    hungry() {
      if (lanes.size === 0) return true;
      for (const lane of lanes.values()) {
        const first = lane.waiting[0];
        if (first === undefined || lane.waiting.length < 2 * first.max_concurrency) return true;
      }
      return false;
    },
  };
}
