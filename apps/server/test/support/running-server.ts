// The server as `npm start` builds it (src/start.ts: configuration, migrations, demo seeding,
// drain), started in this test process on an ephemeral 127.0.0.1 port, with its log lines and
// printed output captured instead of written to stdout.
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, start } from '../../src/start.ts';
import { type LogCapture, logCapture } from './log-capture.ts';

export type StartedServer = RunningServer & {
  origin: string;
  logs: LogCapture;
  /** What the server printed for a person (the demo tenant's key and curl). */
  printed(): string;
};

/** `env` as the process would see it, except PORT and HOST. */
export async function startServer(env: Record<string, string | undefined>): Promise<StartedServer> {
  const config = loadConfig({ LOG_LEVEL: 'info', ...env, PORT: '0', HOST: '127.0.0.1' });
  const logs = logCapture();
  let printed = '';
  const running = await start(config, { logDestination: logs.destination, print: (text) => (printed += text) });
  return { ...running, origin: `http://127.0.0.1:${running.port}`, logs, printed: () => printed };
}
