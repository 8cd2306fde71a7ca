import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectProblem } from '../support/http.ts';
import { useWorld } from '../support/world.ts';

// A pinned clock: every request falls into one window however slow the machine is.
// rate-limiter-flexible reads Date.now and drops a finished window with setTimeout, so those
// are faked (a real timer would end the window after one real second); the key cache keeps
// the burst off the database, whose pool waits on timers too.
const t = useWorld({ rateLimitPerSecond: 5, keyCacheTtlMs: 5000 });
beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  vi.setSystemTime(1_700_000_000_250);
});
afterAll(() => vi.useRealTimers());

describe('rate limit per API key', () => {
  it('429 with Retry-After and RateLimit headers past the limit, then recovers', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => t.call('GET', '/steps')));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const allowed = replies.filter((r) => r.status === 200).map((r) => r.headers.get('ratelimit-remaining'));
    expect(allowed.sort()).toEqual(['0', '1', '2', '3', '4']);
    const limited = replies.find((r) => r.status === 429)!;
    expectProblem(limited, 429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.headers.get('ratelimit-reset')).toBe('1');
    expect(limited.headers.get('ratelimit-limit')).toBe('5');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    // Another key of the same tenant has its own budget.
    expect((await t.call('GET', '/steps', { apiKey: t.world.otherDepartmentKey, departmentId: t.world.otherDepartment.id })).status).toBe(
      200,
    );
    vi.setSystemTime(Date.now() + 1000);
    const next = await t.call('GET', '/steps');
    expect(next.status).toBe(200);
    expect(next.headers.get('ratelimit-remaining')).toBe('4');
  });
});
