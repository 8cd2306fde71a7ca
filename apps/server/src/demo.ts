import { type DemoTenant, seedDemoTenant } from './admin/tenancy.ts';
import { ADVISORY_LOCKS } from './db/advisory-locks.ts';
import type { Database } from './db/database.ts';

/** Seeds one demo tenant if the database has no tenant yet (once, even with several servers starting). */
export async function seedDemoIfEmpty(db: Pick<Database, 'sql' | 'prisma'>): Promise<DemoTenant | undefined> {
  // Asked with plain SQL first: Prisma's query compiler (WebAssembly) adds about 75 MB of RSS
  // to the process once it has run a query, and a server on a database with tenants has no
  // reason to load it just to find that out.
  const [known] = await db.sql.rows<{ tenants: boolean }>`SELECT EXISTS (SELECT FROM tenants) AS tenants`;
  if (known?.tenants) return undefined;
  return db.prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ADVISORY_LOCKS.demoSeed}::bigint)`;
      if ((await tx.tenant.count()) > 0) return undefined;
      return seedDemoTenant(tx);
    },
    { maxWait: 10_000, timeout: 30_000 },
  );
}
