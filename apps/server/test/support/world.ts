// The usual setup of a test file: one real server on its own database, a seeded world, and a
// client acting as the demo key in the world's first department.
import { afterAll, beforeAll } from 'vitest';
import type { AppDeps } from '../../src/app.ts';
import { seedWorld, type World } from './fixtures.ts';
import { client } from './http.ts';
import { startTestServer, type TestServer } from './server.ts';

export type WorldContext = { server: TestServer; world: World; call: ReturnType<typeof client> };

/** Registers beforeAll/afterAll; read the fields inside tests (they are set by then). */
export function useWorld(overrides: Partial<AppDeps> = {}): WorldContext {
  const context = {} as WorldContext;
  beforeAll(async () => {
    context.server = await startTestServer(overrides);
    context.world = await seedWorld(context.server.db);
    context.call = client(context.server.baseUrl, { apiKey: context.world.apiKey, departmentId: context.world.department.id });
  });
  afterAll(() => context.server?.close());
  return context;
}
