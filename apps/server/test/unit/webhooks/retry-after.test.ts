// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP date, as seconds from the response.
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../../src/webhooks/send.ts';

const now = new Date('2026-12-02T12:00:00.000Z');

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120],
    [' 30 ', 30],
    ['0', 0],
    ['Wed, 02 Dec 2026 12:01:30 GMT', 90],
    ['Wed, 02 Dec 2026 12:00:00 GMT', 0],
    ['Wed, 02 Dec 2026 11:00:00 GMT', 0], // in the past: now
    ['Wednesday, 02-Dec-26 12:10:00 GMT', 600], // obsolete RFC 850 form
  ])('%j → %d s', (value, seconds) => {
    expect(parseRetryAfter(value, now)).toBe(seconds);
  });

  it.each([undefined, '', 'soon', '-5', '1.5', '2026-12-02', 'Wed, 99 Foo 2026'])('%j → null', (value) => {
    expect(parseRetryAfter(value, now)).toBeNull();
  });
});
