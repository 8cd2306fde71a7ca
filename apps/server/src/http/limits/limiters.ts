// Rate limiting is rate-limiter-flexible's: fixed windows per key, counted in a store. Every
// limiter is made by a LimiterFactory so the store is chosen in one place: this process's
// memory today (so behind N servers a limit is N times as generous); a shared store such as
// RateLimiterRedis makes the same limits global without touching the middleware.
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export type LimiterOptions = {
  /** Keeps the counters of different limits apart in a shared store. */
  keyPrefix: string;
  /** Points (requests, failures) allowed per window. */
  points: number;
  windowSeconds: number;
};

export type LimiterFactory = (options: LimiterOptions) => RateLimiterAbstract;

export const memoryLimiters: LimiterFactory = ({ keyPrefix, points, windowSeconds }) =>
  new RateLimiterMemory({ keyPrefix, points, duration: windowSeconds });

/**
 * A limiter's verdict on one more point: `limited` when the window had none left. A store
 * that fails (a shared store unreachable) rejects with an Error, which is rethrown.
 */
export async function consume(limiter: RateLimiterAbstract, key: string): Promise<{ limited: boolean; state: RateLimiterRes }> {
  try {
    return { limited: false, state: await limiter.consume(key) };
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) return { limited: true, state: rejection };
    throw rejection;
  }
}

/** Whole seconds until the window of `state` ends, at least 1: the unit of Retry-After. */
export const secondsUntilReset = (state: RateLimiterRes): number => Math.max(1, Math.ceil(state.msBeforeNext / 1000));
