// `npm run migrate`: applies pending migrations and exits, as a release step before the new
// servers start (with MIGRATE_ON_START=false they do not migrate, and their /readyz answers
// 503 until this has run). Same database as `npm start`: DATABASE_URL's, or the embedded one.
// Exit codes: 0 applied (or nothing to apply), 1 a migration failed, 2 invalid configuration.
import pg from 'pg';
import { loadConfigOrExit } from './config.ts';
import { startEmbeddedPostgres } from './db/embedded.ts';
import { migrate } from './db/migrate.ts';

const config = loadConfigOrExit();

const say = (line: string) => process.stderr.write(`${line}\n`);
// A no-op when the embedded cluster was already running: the server that started it keeps it.
const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, config.embeddedPostgresPort, say);
const pool = new pg.Pool({ connectionString: config.databaseUrl ?? embedded!.url, max: 1, application_name: 'deals-migrate' });
let code = 0;
try {
  const applied = await migrate(pool);
  for (const name of applied) process.stdout.write(`applied ${name}\n`);
  if (!applied.length) process.stdout.write('no pending migrations\n');
} catch (error) {
  say(`migrate: ${(error as Error).message}`);
  code = 1;
} finally {
  await pool.end();
  await embedded?.stop();
}
process.exit(code);
