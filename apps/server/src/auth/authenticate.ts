// Authentication (X-Api-Key → tenant) and department scope (X-Department-Id → granted?).
// Key lookups are cached per process for at most `ttlMs` (5 s by default), so a revoked key
// stops working within that time; concurrent misses for one key share one lookup.
import type { RequestHandler } from 'express';
import { UUID_PATTERN } from '../ids.ts';
import { hashApiKeySecret } from './api-key-secret.ts';
import type { ApiKeyGrant } from '../data/api-keys.ts';
import type { Scope } from './scope.ts';
import { ApiProblem } from '../problems.ts';

export type FindGrant = (secretHash: Buffer) => Promise<ApiKeyGrant | undefined>;

const MAX_CACHED_KEYS = 10_000;

export function authenticate(findGrant: FindGrant, ttlMs: number, now: () => number = Date.now): RequestHandler {
  const cache = new Map<string, { expires: number; grant: Promise<ApiKeyGrant | undefined> }>();

  function lookup(secret: string): Promise<ApiKeyGrant | undefined> {
    const hash = hashApiKeySecret(secret);
    const cacheKey = hash.toString('base64');
    const hit = cache.get(cacheKey);
    if (hit && hit.expires > now()) return hit.grant;
    const grant = findGrant(hash);
    if (ttlMs > 0) {
      if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value!);
      cache.set(cacheKey, { expires: now() + ttlMs, grant });
      // A failed lookup (database down) must not be remembered.
      grant.catch(() => cache.delete(cacheKey));
    }
    return grant;
  }

  return async (req, res, next) => {
    try {
      const secret = req.get('x-api-key');
      if (!secret || secret.length > 256) {
        throw new ApiProblem('unauthenticated', 'Send a valid, unrevoked API key in the X-Api-Key header.');
      }
      const grant = await lookup(secret);
      if (!grant || grant.revoked) {
        throw new ApiProblem('unauthenticated', 'Send a valid, unrevoked API key in the X-Api-Key header.');
      }
      const departmentId = req.get('x-department-id');
      if (departmentId === undefined || !UUID_PATTERN.test(departmentId)) {
        throw new ApiProblem('malformed-request', 'Send the id (a UUID) of the department to act on in the X-Department-Id header.');
      }
      // The same answer whether the department exists or not: existence is not disclosed.
      if (!grant.departmentIds.includes(departmentId.toLowerCase())) {
        throw new ApiProblem('department-forbidden', 'This API key has no access to the department in X-Department-Id.');
      }
      const scope: Scope = { tenantId: grant.tenantId, departmentId: departmentId.toLowerCase(), apiKeyId: grant.apiKeyId };
      res.locals.scope = scope;
      next();
    } catch (error) {
      next(error);
    }
  };
}
