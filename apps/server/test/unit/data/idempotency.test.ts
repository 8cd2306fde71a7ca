// requestHash decides whether a retry with the same Idempotency-Key is the same request (its
// stored response is replayed) or another one (422): key order must not matter, anything a
// user would call a different request must.
import { describe, expect, it } from 'vitest';
import { requestHash } from '../../../src/data/idempotency.ts';

const department = '0190d6f2-8a41-7c3e-9b12-3f4a5b6c7d8e';
const body = {
  name: 'Example Dealname',
  volume: 15000,
  customers: [
    { last_name: 'Doe', first_name: 'John' },
    { last_name: 'Doe', first_name: 'Jane' },
  ],
};
const hash = (b: unknown, operation = 'createDeal', departmentId = department) => requestHash(operation, departmentId, b);

describe('requestHash', () => {
  it('is a SHA-256 in hex', () => {
    expect(hash(body)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores the order of keys, at every depth', () => {
    const reordered = {
      customers: [
        { first_name: 'John', last_name: 'Doe' },
        { first_name: 'Jane', last_name: 'Doe' },
      ],
      volume: 15000,
      name: 'Example Dealname',
    };
    expect(hash(reordered)).toBe(hash(body));
    expect(hash(JSON.parse(JSON.stringify(body)))).toBe(hash(body));
  });

  it.each([
    ['another value', { ...body, volume: 15001 }],
    ['a number sent as a string', { ...body, volume: '15000' }],
    ['null instead of a missing field', { ...body, note: null }],
    ['another order of array items', { ...body, customers: [...body.customers].reverse() }],
    ['one more field', { ...body, note: '' }],
    ['a key that differs only in case', { ...body, Name: body.name }],
  ])('differs for %s', (_, other) => {
    expect(hash(other)).not.toBe(hash(body));
  });

  it('differs for another operation or department with the same body', () => {
    expect(hash(body, 'createCustomer')).not.toBe(hash(body));
    expect(hash(body, 'createDeal', '0190d6f2-8a41-7c3e-9b12-3f4a5b6c7d8f')).not.toBe(hash(body));
  });

  it('cannot be confused by text that looks like structure', () => {
    // A separator inside a key or a string must not make two different bodies one. (The
    // operation and department are the server's own: an operationId and a validated UUID.)
    expect(hash({ a: 'b","c":"d' })).not.toBe(hash({ a: 'b', c: 'd' }));
    expect(hash({ 'a":"b': 'c' })).not.toBe(hash({ a: 'b":"c' }));
  });
});
