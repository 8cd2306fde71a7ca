// Requests per second per API key. Runs after authentication (it counts by the key's id), so
// RateLimit-* headers describe the caller's own budget. Windows start at a key's first
// request of the second, not on the clock's second.
import type { RequestHandler } from 'express';
import type { Scope } from '../../auth/scope.ts';
import { ApiProblem } from '../../problems.ts';
import { consume, type LimiterFactory, secondsUntilReset } from './limiters.ts';

/** `perSecond` 0 turns the limit off. */
export function perKeyRateLimit(perSecond: number, limiters: LimiterFactory): RequestHandler {
  if (perSecond === 0) return (_req, _res, next) => next();
  const limiter = limiters({ keyPrefix: 'requests-per-key', points: perSecond, windowSeconds: 1 });
  return async (_req, res, next) => {
    const { apiKeyId } = res.locals.scope as Scope;
    const { limited, state } = await consume(limiter, apiKeyId);
    const reset = String(secondsUntilReset(state));
    res.setHeader('RateLimit-Limit', String(perSecond));
    res.setHeader('RateLimit-Remaining', String(state.remainingPoints));
    res.setHeader('RateLimit-Reset', reset);
    if (limited) {
      throw new ApiProblem('rate-limited', `This API key exceeded ${perSecond} requests per second.`, {
        headers: { 'Retry-After': reset },
      });
    }
    next();
  };
}
