import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../src/uuid-v7.ts';

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const bytesOf = (uuid: string) => Uint8Array.from(uuid.replace(/-/g, '').match(/../g)!, (pair) => parseInt(pair, 16));
const filled = (value: number) => (bytes: Uint8Array) => bytes.fill(value);

describe('uuidv7', () => {
  it('is a lower-case hyphenated UUID with version 7 and variant 10, whatever the random bytes', () => {
    for (const random of [filled(0x00), filled(0xff), filled(0x5a)]) {
      const uuid = uuidv7(Date.now(), random);
      expect(uuid).toMatch(FORMAT);
      const bytes = bytesOf(uuid);
      expect(bytes[6]! >> 4).toBe(7);
      expect(bytes[8]! >> 6).toBe(0b10);
    }
  });

  it('puts the Unix milliseconds in the first 48 bits, big-endian', () => {
    // RFC 9562 appendix A.6: 2022-02-22T19:22:22Z is 0x017F22E279B0.
    const uuid = uuidv7(Date.parse('2022-02-22T19:22:22.000Z'), filled(0));
    expect(uuid).toBe('017f22e2-79b0-7000-8000-000000000000');
    expect(uuidv7(2 ** 48 - 1, filled(0xff))).toBe('ffffffff-ffff-7fff-bfff-ffffffffffff');
    expect(uuidv7(0, filled(0))).toBe('00000000-0000-7000-8000-000000000000');
  });

  it('keeps the random bits it is given outside the version and variant', () => {
    expect(uuidv7(0, (bytes) => bytes.map((_, i) => i * 17))).toBe('00000000-0000-7677-8899-aabbccddeeff');
  });

  it('sorts by time across milliseconds, as text, even when later keys draw smaller random bits', () => {
    const start = Date.parse('2026-03-05T10:29:46.000Z');
    // Later milliseconds get ever smaller random bytes, so only the timestamp can order them.
    const keys = Array.from({ length: 300 }, (_, i) => uuidv7(start + i * 997, filled(0xff - (i % 256))));
    expect([...keys].sort()).toEqual(keys);
    // Across a carry into the higher bytes too.
    expect(uuidv7(0xff_ffff, filled(0xff)) < uuidv7(0x100_0000, filled(0))).toBe(true);
  });

  it('uses the clock and Web Crypto by default: unique, and ordered across milliseconds', async () => {
    const first = uuidv7();
    const second = uuidv7();
    expect(second).not.toBe(first);
    const before = Date.now();
    // Wait for the clock to move on (polling the state needed, not sleeping a guessed time).
    while (Date.now() === before) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(uuidv7() > uuidv7(before)).toBe(true);
  });

  it('rejects a time that does not fit 48 bits', () => {
    expect(() => uuidv7(2 ** 48)).toThrow(RangeError);
    expect(() => uuidv7(-1)).toThrow(RangeError);
    expect(() => uuidv7(1.5)).toThrow(RangeError);
  });
});
