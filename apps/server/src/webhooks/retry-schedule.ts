// When to try a failed delivery again (issue #7): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
// 20 h, 24 h after attempts 1…9, each ±20 % so that deliveries failing together (a receiver's
// outage) do not all come back in the same second; ten attempts over about three and a half
// days. Pure: the worker passes its random source, tests pass 0, 0.5 and 1.
import type { AttemptResult } from './send.ts';

export const RETRY_DELAYS_SECONDS: readonly number[] = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400];

/** ± this fraction of the scheduled delay. */
export const JITTER = 0.2;
/** A receiver that timed out or said 429 is overloaded: a 5 s retry would only add to it. */
export const OVERLOADED_MIN_DELAY_MS = 60_000;

/** An endpoint whose every attempt failed for this long is disabled (disabled_reason). */
export const FAILING_DISABLE_AFTER_MS = 5 * 24 * 3600 * 1000;

/**
 * Milliseconds until the next attempt after `attemptsMade` attempts (≥ 1) of which `result` is
 * the last, or null when there is nothing more to try: the last attempt succeeded, or every
 * retry is spent (attemptsMade > RETRY_DELAYS_SECONDS.length). `random` returns [0, 1].
 *
 * Retry-After is honoured but clamped to [the scheduled delay, twice it]: a receiver can slow
 * us down, within reason, and cannot make us hammer it or park a delivery for a year.
 */
export function nextAttemptDelayMs(attemptsMade: number, result: AttemptResult, random: () => number): number | null {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1)
    throw new RangeError(`attemptsMade must be an integer ≥ 1 (got ${attemptsMade})`);
  if (result.error === null) return null;
  const base = RETRY_DELAYS_SECONDS[attemptsMade - 1];
  if (base === undefined) return null;
  const jitter = 1 + JITTER * (2 * Math.min(1, Math.max(0, random())) - 1);
  let scheduled = base * 1000 * jitter;
  if (result.error === 'timeout' || result.statusCode === 429) scheduled = Math.max(scheduled, OVERLOADED_MIN_DELAY_MS);
  if (result.retryAfterSeconds !== null) {
    scheduled = Math.min(Math.max(result.retryAfterSeconds * 1000, scheduled), 2 * scheduled);
  }
  return Math.round(scheduled);
}
