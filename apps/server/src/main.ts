// `npm start` (node dist/main.js): the API as a process. start.ts does the work; this file
// reads the configuration, and on SIGTERM or SIGINT drains and exits 0 (1 if the drain takes
// longer than SHUTDOWN_GRACE_MS). An invalid configuration exits 2 with a message.
import { loadConfigOrExit } from './config.ts';
import { drainOnSignals } from './shutdown.ts';
import { start } from './start.ts';

const config = loadConfigOrExit();

const starting = start(config);
drainOnSignals(starting, config.shutdownGraceMs, async (running, signal) => {
  running.log.info({ signal }, 'draining: readiness fails, in-flight requests finish');
  await running.close();
});
await starting;
