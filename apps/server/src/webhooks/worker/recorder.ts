// Group commit of attempt outcomes: one recordAttempts statement at a time, at most one
// starting per LINGER_MS; outcomes that finish meanwhile wait and go together in the next one.
// Recording each at once cost a statement and a commit (a WAL flush) per delivery: with a fast
// receiver that was the worker's biggest cost. An idle worker still records an outcome at
// once (a 410 or a disabled endpoint is noticed without delay); under load each statement
// records many.
import type { Logger } from 'pino';
import type { AttemptOutcome } from '../../data/webhook-queue.ts';

const MAX_PER_STATEMENT = 500;
const LINGER_MS = 10;
const RETRY_DELAYS_MS = [100, 500, 2000];

export type Recorder = {
  add(outcome: AttemptOutcome): void;
  /** Resolves when every outcome added so far has been written (or given up on). */
  idle(): Promise<void>;
};

/**
 * `write` records a batch; if it keeps failing the batch is dropped with an error log: those
 * deliveries stay leased, become due when their leases run out, and are sent again
 * (at-least-once), which is the same as a crash at this moment would do.
 */
export function createRecorder<Result>(
  write: (batch: AttemptOutcome[]) => Promise<Result>,
  log: Logger,
  onWritten: (result: Result | undefined) => void,
): Recorder {
  const queue: AttemptOutcome[] = [];
  let flushing: Promise<void> | undefined;
  let lingering: NodeJS.Timeout | undefined;
  let lastWrite = Number.NEGATIVE_INFINITY;

  const writeWithRetries = async (batch: AttemptOutcome[]): Promise<Result | undefined> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await write(batch);
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          log.error(
            { err: error, deliveries: batch.length },
            'could not record webhook attempts; they will be sent again when their leases expire',
          );
          return undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  const flush = async () => {
    lastWrite = performance.now();
    onWritten(await writeWithRetries(queue.splice(0, MAX_PER_STATEMENT)));
  };
  const kick = () => {
    clearTimeout(lingering);
    lingering = undefined;
    if (flushing || queue.length === 0) return;
    flushing = flush().finally(() => {
      flushing = undefined;
      schedule();
    });
  };
  /**
   * At once when nothing was written for LINGER_MS (an idle worker records each outcome
   * without delay) or a statement's worth waits; else when LINGER_MS have passed since the
   * last write began, with whatever finished meanwhile.
   */
  const schedule = () => {
    if (flushing || lingering || queue.length === 0) return;
    const wait = lastWrite + LINGER_MS - performance.now();
    if (wait <= 0 || queue.length >= MAX_PER_STATEMENT) kick();
    else lingering = setTimeout(kick, wait);
  };

  return {
    add(outcome) {
      queue.push(outcome);
      schedule();
    },
    async idle() {
      // Whoever waits for the records does not wait out the linger too.
      while (flushing || queue.length) {
        kick();
        await flushing;
      }
    },
  };
}
