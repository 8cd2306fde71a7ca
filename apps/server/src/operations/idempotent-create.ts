// The Idempotency-Key protocol around a single-statement create (see data/idempotency.ts):
// replay a stored response, 422 for the key reused with another body, 409 while the first
// request with the key is still running.
import type { Sql } from '../db/sql.ts';
import {
  IDEMPOTENCY_RACE,
  readPriorResponse,
  requestHash,
  type IdempotencyInput,
  type IdempotencyOutcome,
  type PriorResponse,
} from '../data/idempotency.ts';
import type { Scope } from '../auth/scope.ts';
import { ApiProblem, validationProblem } from '../problems.ts';

export type Replay = { status: number; json: string; headers: Record<string, string> };

function replay(prior: PriorResponse, idem: IdempotencyInput): Replay {
  if (prior.request_hash !== idem.requestHash) {
    throw validationProblem({
      'Idempotency-Key': ['This Idempotency-Key was already used with a different request; use a new key for a new request.'],
    });
  }
  return {
    status: prior.status_code,
    json: prior.response_body,
    headers: { ...prior.response_headers, 'Idempotent-Replayed': 'true' },
  };
}

function isRace(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.message.includes(IDEMPOTENCY_RACE)) return true;
  }
  return false;
}

/**
 * Runs `write` with the request's Idempotency-Key (if any). Returns the write's own result, or
 * a Replay of the response stored for the key.
 */
export async function idempotentCreate<R extends IdempotencyOutcome>(
  sql: Sql,
  scope: Scope,
  operation: string,
  key: string | undefined,
  body: unknown,
  write: (idem: IdempotencyInput | undefined) => Promise<R>,
): Promise<R | Replay> {
  const idem = key === undefined ? undefined : { key, requestHash: requestHash(operation, scope.departmentId, body) };
  let result: R;
  try {
    result = await write(idem);
  } catch (error) {
    if (!idem || !isRace(error)) throw error;
    const prior = await readPriorResponse(sql, scope.tenantId, idem.key);
    if (!prior) throw error;
    return replay(prior, idem);
  }
  if (!result.lock_acquired) {
    throw new ApiProblem('idempotency-key-in-use', 'A request with this Idempotency-Key is still in progress; retry shortly.', {
      headers: { 'Retry-After': '1' },
    });
  }
  if (idem && result.prior) return replay(result.prior, idem);
  return result;
}

export const isReplay = (r: object): r is Replay => 'status' in r && 'json' in r && 'headers' in r;
