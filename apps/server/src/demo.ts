import type { PrismaClient } from './generated/prisma/client.ts';
import { seedDemoTenant, type DemoTenant } from './admin/tenancy.ts';

const DEMO_SEED_LOCK = 7_204_551_914;

/** Seeds one demo tenant if the database has no tenant yet (once, even with several servers starting). */
export async function seedDemoIfEmpty(prisma: PrismaClient): Promise<DemoTenant | undefined> {
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${DEMO_SEED_LOCK}::bigint)`;
      if ((await tx.tenant.count()) > 0) return undefined;
      return seedDemoTenant(tx);
    },
    { maxWait: 10_000, timeout: 30_000 },
  );
}
