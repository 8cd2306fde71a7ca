// SIGTERM or SIGINT for a process entry point (main.ts, worker-main.ts): drain, then exit 0;
// exit 1 when the drain fails or takes longer than SHUTDOWN_GRACE_MS. Signals are handled from
// the first moment: one that arrives while the process is still starting (a test or an
// orchestrator stopping a process that just logged "listening") waits for the start, then
// drains, instead of killing the process with Node's default action.
export function drainOnSignals<T>(
  starting: Promise<T>,
  graceMs: number,
  drain: (started: T, signal: NodeJS.Signals) => Promise<void>,
): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      console.error('drain took longer than SHUTDOWN_GRACE_MS; exiting');
      process.exit(1);
    }, graceMs).unref();
    starting
      .then(async (started) => {
        await drain(started, signal);
        process.exit(0);
      })
      .catch((error: unknown) => {
        console.error('shutdown failed', error);
        process.exit(1);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
