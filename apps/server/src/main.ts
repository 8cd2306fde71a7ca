// `npm start` (node dist/main.js): the API as a process. start.ts does the work; this file
// reads the configuration, and on SIGTERM or SIGINT drains and exits 0 (1 if the drain takes
// longer than SHUTDOWN_GRACE_MS). An invalid configuration exits 2 with a message.
import { loadConfigOrExit } from './config.ts';
import { start } from './start.ts';

const config = loadConfigOrExit();

// Signals are handled from the first moment: one that arrives while start() is still running
// (a test or an orchestrator stopping a process that just logged "listening") waits for it,
// then drains, instead of killing the process with Node's default action.
let stopping = false;
const starting = start(config);
function stop(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  setTimeout(() => {
    console.error('drain took longer than SHUTDOWN_GRACE_MS; exiting');
    process.exit(1);
  }, config.shutdownGraceMs).unref();
  starting
    .then(async (running) => {
      running.log.info({ signal }, 'draining: readiness fails, in-flight requests finish');
      await running.close();
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error('shutdown failed', error);
      process.exit(1);
    });
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
await starting;
