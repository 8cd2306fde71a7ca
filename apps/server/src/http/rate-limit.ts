// Requests per second per API key, counted in this process (fixed one-second windows). Behind
// a load balancer of N servers a key can reach up to N times the limit; the README says so.
import type { RequestHandler } from 'express';
import type { Scope } from '../auth/scope.ts';
import { ApiProblem } from '../problems.ts';

export function rateLimit(perSecond: number, now: () => number = Date.now): RequestHandler {
  const windows = new Map<string, { start: number; count: number }>();
  return (_req, res, next) => {
    if (perSecond === 0) return next();
    const { apiKeyId } = res.locals.scope as Scope;
    const t = now();
    const second = Math.floor(t / 1000) * 1000;
    let window = windows.get(apiKeyId);
    if (!window || window.start !== second) {
      if (windows.size > 100_000) windows.clear();
      window = { start: second, count: 0 };
      windows.set(apiKeyId, window);
    }
    window.count += 1;
    const reset = Math.max(1, Math.ceil((second + 1000 - t) / 1000));
    res.setHeader('RateLimit-Limit', String(perSecond));
    res.setHeader('RateLimit-Remaining', String(Math.max(0, perSecond - window.count)));
    res.setHeader('RateLimit-Reset', String(reset));
    if (window.count > perSecond) {
      return next(
        new ApiProblem('rate-limited', `This API key exceeded ${perSecond} requests per second.`, {
          headers: { 'Retry-After': String(reset) },
        }),
      );
    }
    next();
  };
}
