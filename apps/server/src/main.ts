// `npm start` (node dist/main.js): the API as a process. start.ts does the work; this file
// reads the configuration, and on SIGTERM or SIGINT drains and exits 0 (1 if the drain takes
// longer than SHUTDOWN_GRACE_MS). An invalid configuration exits 2 with a message.
import { type Config, ConfigError, loadConfig } from './config.ts';
import { start } from './start.ts';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`configuration error: ${error.message}`);
  process.exit(2);
}

const running = await start(config);

let stopping = false;
function stop(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  running.log.info({ signal }, 'draining: readiness fails, in-flight requests finish');
  setTimeout(() => {
    running.log.error('drain took longer than SHUTDOWN_GRACE_MS; exiting');
    process.exit(1);
  }, config.shutdownGraceMs).unref();
  running.close().then(
    () => process.exit(0),
    (error: unknown) => {
      running.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
