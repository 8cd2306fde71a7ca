// The client's contract suite, the same one that runs against the Prism mock
// (apps/mock/test/contract.test.ts), here against the real server: mock and server are held
// to one contract.
import { defineContractSuite } from '@deals/contract-suite';
import { afterAll } from 'vitest';
import { seedWorld } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer | undefined;
afterAll(() => server?.close());

defineContractSuite('real server', async () => {
  server = await startTestServer();
  const world = await seedWorld(server.db);
  return {
    baseUrl: server.baseUrl,
    apiKey: world.apiKey,
    departmentId: world.department.id,
    otherDepartmentId: world.otherTenant.departments[0]!.id,
  };
});
