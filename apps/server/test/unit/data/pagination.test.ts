// Cursors: a next_cursor reads back as the position it was made from, only for the query
// that made it, and nothing else a client could send reaches SQL as a position.
import { describe, expect, it } from 'vitest';
import { cursorKeys, decodeCursor, encodeCursor, page, pageBody } from '../../../src/data/pagination.ts';
import { ApiProblem } from '../../../src/problems.ts';

const id = '0190d6f2-8a41-7c3e-9b12-3f4a5b6c7d8e';
const scope = ['tenant-1', 'department-1', 'listDeals', { sort: '-created_at' }] as const;
const position = { key: '2026-01-02T03:04:05.123456Z', id };

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function refusal(run: () => unknown): ApiProblem {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiProblem) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('encodeCursor / decodeCursor', () => {
  it('round-trips a position for the same query', () => {
    const cursor = encodeCursor(position, scope);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/); // safe in a query string as it is
    expect(decodeCursor(cursor, scope, cursorKeys.timestamp)).toEqual(position);
  });

  it('no cursor is the first page', () => {
    expect(decodeCursor(undefined, scope)).toBeUndefined();
  });

  it('keeps any text sort key, by default', () => {
    const byName = { key: 'Zoë "quoted" , {braces}', id };
    expect(decodeCursor(encodeCursor(byName, scope), scope)).toEqual(byName);
  });

  describe('400: refuses, with one message, a cursor that is not a next_cursor of this query', () => {
    const fingerprintOf = (s: readonly unknown[]) => JSON.parse(Buffer.from(encodeCursor(position, s), 'base64url').toString()).f as string;
    const cases: Array<[string, string]> = [
      ['of another tenant', encodeCursor(position, ['tenant-2', ...scope.slice(1)])],
      ['of another department', encodeCursor(position, ['tenant-1', 'department-2', ...scope.slice(2)])],
      ['of another operation', encodeCursor(position, ['tenant-1', 'department-1', 'listCustomers', scope[3]])],
      ['of other filters or sort', encodeCursor(position, [...scope.slice(0, 3), { sort: 'name' }])],
      ['not base64url JSON', 'not-a-cursor'],
      ['empty', ''],
      ['JSON but not an object', base64url(42)],
      ['JSON null', base64url(null)],
      ['without a key', base64url({ i: id, f: fingerprintOf(scope) })],
      ['with a numeric key', base64url({ k: 5, i: id, f: fingerprintOf(scope) })],
      ['whose id is not a UUID', base64url({ k: position.key, i: "1' OR '1'='1", f: fingerprintOf(scope) })],
      ['whose key is not a timestamp of ours', encodeCursor({ key: 'yesterday', id }, scope)],
    ];
    it.each(cases)('%s', (_, cursor) => {
      expect(refusal(() => decodeCursor(cursor, scope, cursorKeys.timestamp))).toMatchObject({
        kind: 'malformed-request',
        status: 400,
        detail: 'The cursor is not a next_cursor of this query: page again from the start with the same filters and sort.',
      });
    });
  });
});

describe('cursorKeys', () => {
  it.each([
    ['timestamp', '2026-01-02T03:04:05.123456Z', true],
    ['timestamp', '1970-01-01T00:00:00.000000Z', true],
    ['timestamp', '0000-01-01T00:00:00.000000Z', false],
    ['timestamp', '2026-13-01T00:00:00.000000Z', false],
    ['timestamp', '2026-01-02T03:04:05.123Z', false],
    ['timestamp', '2026-01-02 03:04:05.123456+00', false],
    ['timestamp', "2026-01-02T03:04:05.123456Z'; --", false],
    ['integer', '0', true],
    ['integer', '9007199254740991', true],
    ['integer', '9999999999999999', false],
    ['integer', '12345678901234567', false],
    ['integer', '-1', false],
    ['integer', '1.5', false],
    ['integer', '1e3', false],
    ['integer', '', false],
    ['text', '', true],
    ['text', 'x'.repeat(2000), true],
    ['text', 'x'.repeat(2001), false],
    ['text', 'a\u0000b', false],
    ['text', 'a\ud800', false],
  ] as const)('%s %j → %s', (kind, key, valid) => {
    expect(cursorKeys[kind](key)).toBe(valid);
  });
});

describe('page', () => {
  const rows = ['a', 'b', 'c'].map((name, i) => ({ id: `0190d6f2-8a41-7c3e-9b12-00000000000${i}`, name }));

  it('of limit + 1 rows: the first limit, and a cursor at the last of them', () => {
    const { data, next_cursor } = page(rows, 2, (r) => r.name, scope);
    expect(data).toEqual(rows.slice(0, 2));
    expect(decodeCursor(next_cursor!, scope)).toEqual({ key: 'b', id: rows[1]!.id });
  });

  it('of limit rows or fewer: the last page', () => {
    expect(page(rows, 3, (r) => r.name, scope)).toEqual({ data: rows, next_cursor: null });
    expect(page([], 3, (r: { id: string }) => r.id, scope)).toEqual({ data: [], next_cursor: null });
  });
});

describe('pageBody', () => {
  it('joins the JSON PostgreSQL built into one { data, next_cursor } document', () => {
    const rows = [
      { json: '{"id":"x","name":"A \\"quoted\\""}', sort_key: 'k1', id },
      { json: '{"id":"y"}', sort_key: 'k2', id },
    ] as unknown as Parameters<typeof pageBody>[0];
    const body = JSON.parse(pageBody(rows, 1, scope));
    expect(body.data).toEqual([{ id: 'x', name: 'A "quoted"' }]);
    expect(decodeCursor(body.next_cursor, scope)).toEqual({ key: 'k1', id });
    expect(JSON.parse(pageBody(rows, 2, scope))).toEqual({ data: [{ id: 'x', name: 'A "quoted"' }, { id: 'y' }], next_cursor: null });
    expect(JSON.parse(pageBody([], 25, scope))).toEqual({ data: [], next_cursor: null });
  });
});
