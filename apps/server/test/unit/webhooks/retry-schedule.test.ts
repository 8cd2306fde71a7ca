// The retry schedule of issue #7 with an injected random source (0, 0.5, 1 are the jitter's
// bounds and middle): no clock, no sleeps.
import { describe, expect, it } from 'vitest';
import { FAILING_DISABLE_AFTER_MS, nextAttemptDelayMs, RETRY_DELAYS_SECONDS } from '../../../src/webhooks/retry-schedule.ts';
import type { AttemptResult } from '../../../src/webhooks/send.ts';

function result(overrides: Partial<AttemptResult>): AttemptResult {
  return {
    attemptedAt: new Date(0),
    statusCode: 500,
    durationMs: 12,
    error: 'http',
    responseBody: '',
    retryAfterSeconds: null,
    ...overrides,
  };
}
const low = () => 0;
const middle = () => 0.5;
const high = () => 1;
const failed = result({});

describe('nextAttemptDelayMs', () => {
  it('follows 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (no jitter at 0.5)', () => {
    expect(RETRY_DELAYS_SECONDS).toEqual([5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]);
    const delays = RETRY_DELAYS_SECONDS.map((_, index) => nextAttemptDelayMs(index + 1, failed, middle));
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000]);
  });

  it('jitters ±20 %: random 0 → 80 %, 1 → 120 %', () => {
    expect(nextAttemptDelayMs(1, failed, low)).toBe(4_000);
    expect(nextAttemptDelayMs(1, failed, high)).toBe(6_000);
    expect(nextAttemptDelayMs(2, failed, low)).toBe(240_000);
    expect(nextAttemptDelayMs(2, failed, high)).toBe(360_000);
    expect(nextAttemptDelayMs(9, failed, low)).toBe(69_120_000);
    expect(nextAttemptDelayMs(9, failed, high)).toBe(103_680_000);
    expect(nextAttemptDelayMs(3, failed, () => 0.75)).toBe(1_980_000);
  });

  it('is out of retries after the tenth attempt (nine retries)', () => {
    expect(nextAttemptDelayMs(9, failed, middle)).not.toBeNull();
    expect(nextAttemptDelayMs(10, failed, middle)).toBeNull();
    expect(nextAttemptDelayMs(11, failed, middle)).toBeNull();
  });

  it('nothing to retry after a success', () => {
    expect(nextAttemptDelayMs(1, result({ statusCode: 200, error: null }), middle)).toBeNull();
  });

  it('every kind of failure is retried on the schedule', () => {
    for (const error of ['dns', 'blocked', 'tls', 'connect', 'http'] as const) {
      expect(nextAttemptDelayMs(2, result({ statusCode: null, error }), middle), error).toBe(300_000);
    }
    expect(nextAttemptDelayMs(2, result({ statusCode: 410 }), middle)).toBe(300_000);
  });

  it('a timeout or a 429 waits at least 60 s, even with the lowest jitter', () => {
    const timeout = result({ statusCode: null, error: 'timeout', responseBody: null });
    const tooMany = result({ statusCode: 429 });
    for (const random of [low, middle, high]) {
      expect(nextAttemptDelayMs(1, timeout, random)).toBe(60_000);
      expect(nextAttemptDelayMs(1, tooMany, random)).toBe(60_000);
    }
    // Later delays are longer than 60 s already: unchanged.
    expect(nextAttemptDelayMs(2, timeout, low)).toBe(240_000);
    expect(nextAttemptDelayMs(2, tooMany, high)).toBe(360_000);
    // A 503 is not "overloaded" by this rule (Retry-After is its signal).
    expect(nextAttemptDelayMs(1, result({ statusCode: 503 }), middle)).toBe(5_000);
  });

  describe('Retry-After, clamped to [the scheduled delay, twice it]', () => {
    it('within the range: honoured', () => {
      expect(nextAttemptDelayMs(2, result({ statusCode: 503, retryAfterSeconds: 450 }), middle)).toBe(450_000);
      expect(nextAttemptDelayMs(1, result({ statusCode: 429, retryAfterSeconds: 90 }), middle)).toBe(90_000);
    });
    it('shorter than scheduled: the schedule wins', () => {
      expect(nextAttemptDelayMs(2, result({ statusCode: 503, retryAfterSeconds: 1 }), middle)).toBe(300_000);
      expect(nextAttemptDelayMs(2, result({ statusCode: 503, retryAfterSeconds: 0 }), low)).toBe(240_000);
      // 429's 60 s floor is part of the scheduled delay
      expect(nextAttemptDelayMs(1, result({ statusCode: 429, retryAfterSeconds: 10 }), middle)).toBe(60_000);
    });
    it('longer than twice scheduled: twice scheduled', () => {
      expect(nextAttemptDelayMs(2, result({ statusCode: 503, retryAfterSeconds: 86_400 }), middle)).toBe(600_000);
      expect(nextAttemptDelayMs(2, result({ statusCode: 503, retryAfterSeconds: 86_400 }), high)).toBe(720_000);
      expect(nextAttemptDelayMs(1, result({ statusCode: 429, retryAfterSeconds: 3600 }), low)).toBe(120_000);
      expect(nextAttemptDelayMs(1, result({ statusCode: 503, retryAfterSeconds: 3600 }), low)).toBe(8_000);
    });
  });

  it('refuses a nonsensical attempt count', () => {
    expect(() => nextAttemptDelayMs(0, failed, middle)).toThrow(RangeError);
    expect(() => nextAttemptDelayMs(1.5, failed, middle)).toThrow(RangeError);
  });
});

describe('FAILING_DISABLE_AFTER_MS', () => {
  it('is five days', () => {
    expect(FAILING_DISABLE_AFTER_MS).toBe(432_000_000);
  });
});
