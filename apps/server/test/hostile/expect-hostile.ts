// What every hostile request must get: a 4xx problem that keeps the contract, and no change
// to any row a request of the API can write.

import type { OperationId } from '@deals/api-types';
import { contractValidator } from '@deals/contract-suite/contract-validator';
import type { TestServer } from '../support/server.ts';
import type { RawReply } from './raw-http.ts';

const contract = contractValidator();

// Every table an API request can write (steps, employees and keys are admin-only).
const WRITABLE_TABLES = ['deals', 'customers', 'deal_customers', 'deal_step_changes', 'deal_tombstones', 'idempotency_records'] as const;

export async function rowCounts(server: TestServer): Promise<Record<string, number>> {
  const { rows } = await server.db.pool.query<{ table: string; count: string }>(
    WRITABLE_TABLES.map((table) => `SELECT '${table}' AS table, count(*) FROM ${table}`).join(' UNION ALL '),
  );
  return Object.fromEntries(rows.map((r) => [r.table, Number(r.count)]));
}

/** Runs `request` and fails when it changed the number of rows of any writable table. */
export async function withoutRowChanges<T>(server: TestServer, request: () => Promise<T>): Promise<T> {
  const before = await rowCounts(server);
  const result = await request();
  const after = await rowCounts(server);
  if (JSON.stringify(after) !== JSON.stringify(before)) {
    throw new Error(`the request changed rows: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
  }
  return result;
}

const shown = (reply: RawReply) => `${reply.status} ${reply.contentType}: ${reply.text.slice(0, 400)}`;

/**
 * A problem with one of `statuses`, served as application/problem+json, whose body is a valid
 * Problem; with an operation, also a status and body that operation declares.
 */
export function expectHostileProblem(reply: RawReply, statuses: number | number[], operationId?: OperationId, method?: string) {
  const allowed = Array.isArray(statuses) ? statuses : [statuses];
  if (!allowed.includes(reply.status)) throw new Error(`expected ${allowed.join(' or ')}, got ${shown(reply)}`);
  if (!reply.contentType.startsWith('application/problem+json')) throw new Error(`expected application/problem+json, got ${shown(reply)}`);
  if (method === 'HEAD') return; // no body to check
  const errors = operationId
    ? contract.check(operationId, { status: reply.status, headers: reply.headers, body: reply.body })
    : contract.checkSchema('Problem', reply.body);
  if ((reply.body as { status?: unknown } | undefined)?.status !== reply.status) errors.push(`problem.status is not ${reply.status}`);
  if (errors.length) throw new Error(`the problem breaks the contract:\n  ${errors.join('\n  ')}\n${shown(reply)}`);
  return reply.body as { type: string; detail: string; errors?: Record<string, string[]> };
}

/** A success that keeps the contract (for the hostile inputs that are valid requests). */
export function expectContractSuccess(reply: RawReply, status: number, operationId: OperationId) {
  if (reply.status !== status) throw new Error(`expected ${status}, got ${shown(reply)}`);
  const errors = contract.check(operationId, { status: reply.status, headers: reply.headers, body: reply.body });
  if (errors.length) throw new Error(`the response breaks the contract:\n  ${errors.join('\n  ')}`);
}
