import type { PrismaClient } from './generated/prisma/client.ts';
import { seedDemoTenant, type DemoTenant } from './admin/tenancy.ts';

import { ADVISORY_LOCKS } from './db/advisory-locks.ts';

/** Seeds one demo tenant if the database has no tenant yet (once, even with several servers starting). */
export async function seedDemoIfEmpty(prisma: PrismaClient): Promise<DemoTenant | undefined> {
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ADVISORY_LOCKS.demoSeed}::bigint)`;
      if ((await tx.tenant.count()) > 0) return undefined;
      return seedDemoTenant(tx);
    },
    { maxWait: 10_000, timeout: 30_000 },
  );
}
