import { defineConfig } from 'vitest/config';

// Test files fall into three projects, so that the inner loop runs only what is quick:
// - unit: pure functions (parsers, cursors, config, error translation); no database, no
//   server; milliseconds each. `npx vitest run --project unit`.
// - api: the real app in-process on a real PostgreSQL (one cloned database per file), over
//   real HTTP: every operation, scope, protocol, schema.
// - slow: what costs most of the wall time and rarely changes with a handler: processes
//   (`npm start`, the admin CLI, one process per step), faults and floods under load, the
//   contract fuzzer and the query-plan test.
// `npm run test:fast` runs unit and api; `npm test` runs all three.
const slow = [
  'test/faults/**/*.test.ts',
  'test/process/**/*.test.ts',
  'test/admin/cli.test.ts',
  // Runs `npm run migrate` and concurrent migrators as processes, on databases of its own.
  'test/migrations.test.ts',
  'test/hostile/fuzz.test.ts',
  'test/performance/**/*.test.ts',
  // 10,000 requests with random keys: a load test of the auth path.
  'test/http/failed-authentications.test.ts',
];
const unit = ['test/unit/**/*.test.ts'];

// api and slow share one PostgreSQL (see global-setup.ts); unit never starts one.
const withDatabase = { globalSetup: ['test/support/global-setup.ts'], hookTimeout: 60_000 };
// Test files of unit and api share the modules they import, within a worker: each file would
// otherwise load Express, the contract validator and the Prisma client again, which took more
// than half of the CPU of `npm run test:fast` (195 s → 83 s CPU). Their files keep no state in
// shared modules: each starts its own app on its own database.
const sharedModules = { isolate: false };

export default defineConfig({
  test: {
    testTimeout: 30_000,
    // Two cores: more workers than that only make every file slower.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: unit, ...sharedModules } },
      {
        extends: true,
        test: { name: 'api', include: ['test/**/*.test.ts'], exclude: [...unit, ...slow], ...withDatabase, ...sharedModules },
      },
      { extends: true, test: { name: 'slow', include: slow, ...withDatabase } },
    ],
  },
});
