// Group commit of attempt outcomes: while one recordAttempts statement is running, outcomes
// that finish meanwhile wait and go together in the next one. Under load a statement records
// many attempts (one round trip, one commit); when idle, each is recorded at once.
import type { Logger } from 'pino';
import type { AttemptOutcome } from '../../data/webhook-queue.ts';

const MAX_PER_STATEMENT = 500;
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
    while (queue.length) {
      onWritten(await writeWithRetries(queue.splice(0, MAX_PER_STATEMENT)));
    }
  };
  const kick = () => {
    if (flushing || queue.length === 0) return;
    flushing = flush().finally(() => {
      flushing = undefined;
      kick();
    });
  };

  return {
    add(outcome) {
      queue.push(outcome);
      kick();
    },
    async idle() {
      while (flushing) await flushing;
    },
  };
}
