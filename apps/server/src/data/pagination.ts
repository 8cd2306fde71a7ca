// Keyset pagination. A cursor carries the sort key and id of the last row of a page plus a
// fingerprint of the query that produced it (tenant, department, operation, filters, sort),
// so a cursor replayed against another query, department or tenant is rejected, never
// silently misapplied. Rows are fetched `limit + 1` at a time to know whether a next page
// exists without counting.
import { createHash } from 'node:crypto';
import { UUID_PATTERN } from '../ids.ts';
import { ApiProblem } from '../problems.ts';
import type { JsonText } from './json-text.ts';

export type CursorPosition = { key: string; id: string };
/** A row of a SQL-built list: one item's JSON (of schema T), its sort key and its id. */
export type PageRow<T> = { json: JsonText<T>; sort_key: string; id: string };
/** The `{ data, next_cursor }` document of every list operation. */
export type Page<T> = { data: T[]; next_cursor: string | null };

function fingerprint(scope: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(scope)).digest('base64url').slice(0, 16);
}

export function encodeCursor(position: CursorPosition, scope: readonly unknown[]): string {
  return Buffer.from(JSON.stringify({ k: position.key, i: position.id, f: fingerprint(scope) })).toString('base64url');
}

// What a cursor's sort key may look like, per kind of sort column: anything else was not
// written by this server, and must not reach PostgreSQL as a cast.
export const cursorKeys = {
  timestamp: (k: string) => /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(k) && !Number.isNaN(Date.parse(k)),
  integer: (k: string) => /^\d{1,16}$/.test(k) && Number.isSafeInteger(Number(k)),
  text: (k: string) => k.length <= 2000 && !k.includes('\u0000') && k.isWellFormed(),
  // A transaction id (xid8, the change feed's position): unsigned 64-bit, in decimal.
  xid8: (k: string) => /^\d{1,20}$/.test(k) && BigInt(k) <= 0xffff_ffff_ffff_ffffn,
} as const;

export function decodeCursor(
  cursor: string | undefined,
  scope: readonly unknown[],
  validKey: (key: string) => boolean = cursorKeys.text,
): CursorPosition | undefined {
  if (cursor === undefined) return undefined;
  const invalid = new ApiProblem(
    'malformed-request',
    'The cursor is not a next_cursor of this query: page again from the start with the same filters and sort.',
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid;
  const { k, i, f } = parsed as Record<string, unknown>;
  if (typeof k !== 'string' || typeof i !== 'string' || !UUID_PATTERN.test(i) || f !== fingerprint(scope) || !validKey(k)) throw invalid;
  return { key: k, id: i };
}

/** A page of `limit + 1` fetched rows: the first `limit`, and the cursor after them (or null). */
export function page<T extends { id: string }>(rows: T[], limit: number, key: (row: T) => string, scope: readonly unknown[]): Page<T> {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  return { data, next_cursor: rows.length > limit && last ? encodeCursor({ key: key(last), id: last.id }, scope) : null };
}

/** The `{ data, next_cursor }` document of a page, from rows whose JSON PostgreSQL built. */
export function pageBody<T>(rows: PageRow<T>[], limit: number, scope: readonly unknown[]): JsonText<Page<T>> {
  const { data, next_cursor } = page(rows, limit, (r) => r.sort_key, scope);
  // Items of schema T joined into an array, and a string or null: a Page<T>.
  return `{"data":[${data.map((r) => r.json).join(',')}],"next_cursor":${JSON.stringify(next_cursor)}}` as JsonText<Page<T>>;
}
