import { defineContractSuite } from '@deals/contract-suite';
import { contractValidator } from '@deals/contract-suite/contract-validator';
import { afterAll, beforeAll } from 'vitest';
import { type RunningMock, startMock } from '../src/start-mock.ts';

let mock: RunningMock;
beforeAll(async () => {
  mock = await startMock();
});
afterAll(() => mock?.stop());

// Prism checks that both headers are present, not their values. The department is the one the
// contract's examples belong to, so the suite's "department_id is the caller's" checks hold.
const { department_id: departmentId } = contractValidator().example('ReferenceDeal') as { department_id: string };

defineContractSuite('Prism mock', async () => ({ baseUrl: mock.baseUrl, apiKey: 'mock-key', departmentId }));
