// LISTEN for "deliveries are due" on a connection of its own: a pooled connection is handed to
// other queries between uses, and a LISTEN lives only as long as its session. When the
// connection fails it is opened again after a pause; polling covers the gap, so a lost
// notification only delays a delivery by one poll interval.
import pg from 'pg';
import type { Logger } from 'pino';

const RECONNECT_MS = 1000;
const RECONNECT_MAX_MS = 30_000;

export type WakeListener = { close(): Promise<void> };

export function listenForWakeUps(options: { url: string; channel: string; log: Logger; onWake: () => void }): WakeListener {
  const { url, channel, log, onWake } = options;
  let client: pg.Client | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  /** Failures in a row: the pause doubles with each, up to RECONNECT_MAX_MS (a database that is down). */
  let failures = 0;

  const connect = async () => {
    timer = undefined;
    if (closed) return;
    const c = new pg.Client({ connectionString: url, application_name: 'deals-api-webhooks' });
    client = c;
    let failed = false;
    const fail = (error?: Error) => {
      if (failed) return;
      failed = true;
      c.removeAllListeners('notification');
      void c.end().catch(() => undefined);
      if (closed) return;
      if (failures === 0) log.warn({ err: error }, 'webhook wake-up connection lost; polling until it is back');
      timer = setTimeout(connect, Math.min(RECONNECT_MS * 2 ** failures, RECONNECT_MAX_MS));
      failures++;
      timer.unref();
    };
    c.on('error', fail);
    c.on('end', () => fail());
    c.on('notification', () => onWake());
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
      failures = 0;
      // Whatever was notified while we were not listening is found by this claim.
      onWake();
    } catch (error) {
      fail(error as Error);
    }
  };
  void connect();

  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await client?.end().catch(() => undefined);
    },
  };
}
