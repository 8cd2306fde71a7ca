/**
 * A UUIDv7 (RFC 9562, section 5.7): the Unix time in milliseconds as 48 big-endian bits, version 7,
 * variant 10, and 74 random bits. Keys made in later milliseconds sort after earlier ones, as text
 * and as bytes; keys of the same millisecond are in random order (the RFC's optional counter is
 * not kept: idempotency keys need uniqueness and rough time order, not a strict sequence).
 *
 * Hand-written because it is a few lines over Web Crypto: the client runs in browsers as well as
 * Node, so it may use neither `node:crypto` nor the server's generator (apps/server/src/ids.ts,
 * which batches randomness in a Node Buffer).
 * `now` and `randomBytes` are injectable so that tests can pin time and randomness.
 */
export function uuidv7(
  now: number = Date.now(),
  randomBytes: (bytes: Uint8Array) => Uint8Array = (bytes) => globalThis.crypto.getRandomValues(bytes),
): string {
  if (!Number.isSafeInteger(now) || now < 0 || now >= 2 ** 48)
    throw new RangeError(`uuidv7: ${now} is not a Unix time in milliseconds that fits 48 bits`);
  const bytes = randomBytes(new Uint8Array(16));
  // Bytes 0-5: the timestamp, big-endian. Division rather than shifts: JS bit operators work on 32 bits.
  for (let i = 5, rest = now; i >= 0; i--, rest = Math.floor(rest / 256)) bytes[i] = rest % 256;
  bytes[6] = (bytes[6]! & 0x0f) | 0x70; // version 7 in the high nibble
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // variant 10 in the two high bits
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
