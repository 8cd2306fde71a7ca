// The Idempotency-Key protocol around a single-statement create (see data/idempotency.ts):
// replay a stored response, 422 for the key reused with another body, 409 while the first
// request with the key is still running.
import type { OperationId } from '@deals/api-types';
import type { Scope } from '../auth/scope.ts';
import {
  IDEMPOTENCY_RACE,
  type IdempotencyInput,
  type IdempotencyOutcome,
  type PriorResponse,
  readPriorResponse,
  requestHash,
} from '../data/idempotency.ts';
import type { JsonText } from '../data/json-text.ts';
import type { Sql } from '../db/sql.ts';
import { ApiProblem, validationProblem } from '../problems.ts';
import type { ResponseHeaders, ResponseSchema, SuccessStatus } from './context.ts';

/** The operations that answer 201, the creates: each stores its response for a replay. */
export type CreateOperation = { [K in OperationId]: 201 extends SuccessStatus<K> ? K : never }[OperationId];

/** A replay is the create's own 201 again, as the contract declares it, marked as a replay. */
export type Replay<K extends CreateOperation> = {
  status: 201;
  headers: ResponseHeaders<K, 201> & { 'Idempotent-Replayed': 'true' };
  body: JsonText<ResponseSchema<K, 201>>;
};

function replay<K extends CreateOperation>(prior: PriorResponse, idem: IdempotencyInput): Replay<K> {
  if (prior.request_hash !== idem.requestHash) {
    throw validationProblem({
      'Idempotency-Key': ['This Idempotency-Key was already used with a different request; use a new key for a new request.'],
    });
  }
  // The stored row is untyped text and JSON; this is where it gets its type back, and it is
  // sound: its request hash is this request's, and the hash covers the operation's name, so
  // the row was stored by K's own create statement, which stores only the 201 it answered:
  // its Location and ETag, and the JSON of K's schema that its SQL built.
  return {
    status: prior.status_code,
    headers: { ...prior.response_headers, 'Idempotent-Replayed': 'true' },
    body: prior.response_body,
  } as Replay<K>;
}

function isRace(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === IDEMPOTENCY_RACE.sqlstate) return true;
  }
  return false;
}

/**
 * Runs `write` with the request's Idempotency-Key (if any). Returns the write's own result, or
 * a Replay of the response stored for the key.
 */
export async function idempotentCreate<K extends CreateOperation, R extends IdempotencyOutcome>(
  sql: Sql,
  scope: Scope,
  operation: K,
  key: string | undefined,
  body: unknown,
  write: (idem: IdempotencyInput | undefined) => Promise<R>,
): Promise<R | Replay<K>> {
  const idem = key === undefined ? undefined : { key, requestHash: requestHash(operation, scope.departmentId, body) };
  let result: R;
  try {
    result = await write(idem);
  } catch (error) {
    if (!idem || !isRace(error)) throw error;
    const prior = await readPriorResponse(sql, scope.tenantId, idem.key);
    if (!prior) throw error;
    return replay<K>(prior, idem);
  }
  if (!result.lock_acquired) {
    throw new ApiProblem('idempotency-key-in-use', 'A request with this Idempotency-Key is still in progress; retry shortly.', {
      headers: { 'Retry-After': '1' },
    });
  }
  if (idem && result.prior) return replay<K>(result.prior, idem);
  return result;
}

/** A write's outcome has no status; a replay does. */
export const isReplay = <R extends object>(result: R): result is Extract<R, { status: 201 }> => 'status' in result;
