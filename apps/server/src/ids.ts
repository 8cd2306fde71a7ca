// UUID version 7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Time-ordered, so new
// rows land at the right edge of the primary-key index instead of scattering across it.
import { randomFillSync } from 'node:crypto';

export type IdGenerator = () => string;

/** Any UUID, in either case (ids in paths, headers and cursors are checked against it). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const pool = Buffer.alloc(16 * 256);
let offset = pool.length;

export const uuidv7: IdGenerator = () => {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const b = pool.subarray(offset, offset + 16);
  offset += 16;
  const ms = Date.now();
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f); // version 7
  b[8] = 0x80 | (b[8]! & 0x3f); // variant 10
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};
