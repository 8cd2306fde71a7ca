import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedWorld, type World } from '../support/fixtures.ts';
import { client, expectProblem } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let world: World;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  server = await startTestServer({ rateLimitPerSecond: 5 });
  world = await seedWorld(server.db);
  call = client(server.baseUrl, { apiKey: world.apiKey, departmentId: world.department.id });
});
afterAll(() => server.close());

describe('rate limit per API key', () => {
  it('429 with Retry-After and RateLimit headers past the limit, then recovers', async () => {
    // Start at the beginning of a one-second window so all requests fall into it.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const replies = await Promise.all(Array.from({ length: 8 }, () => call('GET', '/steps')));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const limited = replies.find((r) => r.status === 429)!;
    expectProblem(limited, 429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('ratelimit-limit')).toBe('5');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    // Another key of the same tenant has its own budget.
    expect((await call('GET', '/steps', { apiKey: world.otherDepartmentKey, departmentId: world.otherDepartment.id })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call('GET', '/steps')).status).toBe(200);
  });
});
