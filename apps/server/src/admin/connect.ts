// The admin CLI's database: DATABASE_URL's, or the embedded one `npm start` uses (reused when
// a server already runs it, started and stopped again otherwise). Pending migrations are
// applied first, as the server does, so the CLI also works on an empty database.
import type { Config } from '../config.ts';
import { createDatabase } from '../db/database.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';

export type AdminDatabase = { prisma: PrismaClient; close(): Promise<void> };

export async function openAdminDatabase(config: Config, log: (message: string) => void): Promise<AdminDatabase> {
  let url = config.databaseUrl;
  // A no-op when the cluster was already running: the server that started it keeps it.
  let stopEmbedded = async (): Promise<void> => undefined;
  if (!url) {
    const embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPostgresPort, log);
    url = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const database = createDatabase({
    url,
    // One connection for the command's transaction, one to spare.
    poolMax: 2,
    poolWaitMs: config.dbPoolWaitMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    onError: (error) => log(`database: ${error.message}`),
  });
  const close = async () => {
    await database.close();
    await stopEmbedded();
  };
  try {
    await migrate(database.pool);
  } catch (error) {
    await close();
    throw error;
  }
  return { prisma: database.prisma, close };
}
