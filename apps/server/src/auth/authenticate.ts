// Authentication (X-Api-Key → tenant) and department scope (X-Department-Id → granted?).
// An address that sent too many unknown or revoked keys is refused first, before its key is
// hashed or looked up (http/limits/failed-authentications.ts); lookups are cached both ways
// (key-cache.ts), so neither random nor repeated wrong keys become database load.
import type { RequestHandler } from 'express';
import { clientAddress } from '../http/limits/client-address.ts';
import type { FailedAuthentications } from '../http/limits/failed-authentications.ts';
import { UUID_PATTERN } from '../ids.ts';
import { ApiProblem } from '../problems.ts';
import { hashApiKeySecret } from './api-key-secret.ts';
import { cachedFindGrant, type FindGrant } from './key-cache.ts';
import type { Scope } from './scope.ts';

export type AuthenticateOptions = {
  findGrant: FindGrant;
  /** How long a key lookup is remembered (0: not at all). */
  keyCacheTtlMs: number;
  failures: FailedAuthentications;
  now?: () => number;
};

const unauthenticated = () => new ApiProblem('unauthenticated', 'Send a valid, unrevoked API key in the X-Api-Key header.');

export function authenticate({ findGrant, keyCacheTtlMs, failures, now = Date.now }: AuthenticateOptions): RequestHandler {
  const lookup = cachedFindGrant(findGrant, keyCacheTtlMs, now);
  return async (req, res, next) => {
    const address = clientAddress(req.ip);
    await failures.refuseIfBlocked(address);
    const secret = req.get('x-api-key');
    // Nothing to look up: no database cost, so not counted as a failure.
    if (!secret || secret.length > 256) throw unauthenticated();
    const grant = await lookup(hashApiKeySecret(secret));
    if (!grant || grant.revoked) {
      await failures.record(address);
      throw unauthenticated();
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
  };
}
