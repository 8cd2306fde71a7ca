// Runs `prisma generate`. Prisma 7 generates the query client without the Rust schema
// engine, but the CLI still checks that an engine binary exists and tries to download one,
// which fails on machines without internet access. PRISMA_SCHEMA_ENGINE_BINARY (Prisma's
// documented custom-engine variable) pointed at any existing file satisfies that check; the
// engine itself is never run by `generate`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);

const result = spawnSync('npx', ['prisma', 'generate'], { stdio: 'inherit', env, cwd: fileURLToPath(new URL('..', import.meta.url)) });
process.exit(result.status ?? 1);
