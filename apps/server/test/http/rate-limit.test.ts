import { describe, expect, it } from 'vitest';
import { expectProblem } from '../support/http.ts';
import { useWorld } from '../support/world.ts';

// A pinned clock: every request falls into one window however slow the machine is.
let clock = 1_700_000_000_250;
const t = useWorld({ rateLimitPerSecond: 5, now: () => clock });

describe('rate limit per API key', () => {
  it('429 with Retry-After and RateLimit headers past the limit, then recovers', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => t.call('GET', '/steps')));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const limited = replies.find((r) => r.status === 429)!;
    expectProblem(limited, 429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.headers.get('ratelimit-reset')).toBe('1');
    expect(limited.headers.get('ratelimit-limit')).toBe('5');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    // Another key of the same tenant has its own budget.
    expect((await t.call('GET', '/steps', { apiKey: t.world.otherDepartmentKey, departmentId: t.world.otherDepartment.id })).status).toBe(200);
    clock += 1000;
    expect((await t.call('GET', '/steps')).status).toBe(200);
  });
});
