// Prisma CLI configuration. Only `prisma generate` runs on our machines (see
// scripts/prisma-generate.mjs); the migrations folder keeps Prisma's layout so that
// `prisma migrate deploy` also works wherever Prisma's schema engine can be downloaded.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/deals' },
});
