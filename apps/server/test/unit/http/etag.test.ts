// If-Match parsing (RFC 9110 §13.1.1): which row versions a conditional write accepts.
import { describe, expect, it } from 'vitest';
import { etagOf, parseIfMatch, preconditionFailed } from '../../../src/http/etag.ts';

describe('etagOf', () => {
  it('is the strong ETag of the row version, and parseIfMatch reads it back', () => {
    expect(etagOf(7)).toBe('"7"');
    for (const version of [0, 1, 42, 999_999_999]) expect(parseIfMatch(etagOf(version))).toEqual([version]);
  });
});

describe('parseIfMatch', () => {
  it.each([
    ['absent', undefined],
    ['*', '*'],
    ['* with whitespace', '  * '],
  ])('%s: any existing object matches (null)', (_, header) => {
    expect(parseIfMatch(header)).toBeNull();
  });

  it.each([
    ['one strong ETag', '"3"', [3]],
    ['a list, with and without spaces', '"1", "2","3" ,  "4"', [1, 2, 3, 4]],
    ['weak ETags contribute nothing (strong comparison)', 'W/"3", "4", w/"5"', [4]],
    ['only weak ETags: nothing can match', 'W/"3"', []],
    ['not ETags at all', 'abc, 3, "x", "", "-1", "1.5"', []],
    ['more than 9 digits is no version of ours', '"1234567890", "12"', [12]],
    ['empty', '', []],
    ['* inside a list is not the wildcard', '"1", *', [1]],
  ])('%s: %j', (_, header, versions) => {
    expect(parseIfMatch(header)).toEqual(versions);
  });
});

describe('preconditionFailed', () => {
  it('is a 412 that tells the client to read the object again', () => {
    expect(preconditionFailed('deal')).toMatchObject({
      kind: 'precondition-failed',
      status: 412,
      detail: 'The deal was changed since the ETag in If-Match; read it again.',
    });
  });
});
