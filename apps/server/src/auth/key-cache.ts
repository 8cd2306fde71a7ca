// API key lookups, remembered for `ttlMs` (at most 5 s, so a revoked key stops working within
// it), both ways: known keys (revoked ones included) in one bounded LRU, unknown keys in a
// smaller one, so a flood of unknown keys cannot evict the keys of real clients, and a client
// retrying one wrong key costs one lookup per TTL. Concurrent lookups of one key share one
// database statement; a lookup that fails (database down) is not remembered.
import { LRUCache } from 'lru-cache';
import type { ApiKeyGrant } from '../data/api-keys.ts';

export type FindGrant = (secretHash: Buffer) => Promise<ApiKeyGrant | undefined>;

/** Entries kept; a few hundred bytes each. */
export type KeyCacheSizes = { known: number; unknown: number };

const SIZES: KeyCacheSizes = { known: 10_000, unknown: 1_000 };

export function cachedFindGrant(findGrant: FindGrant, ttlMs: number, now: () => number, sizes = SIZES): FindGrant {
  if (ttlMs === 0) return findGrant;
  // ttlResolution 0: read the (possibly pinned) clock on every check instead of caching it for 1 ms.
  const clock = { ttl: ttlMs, ttlResolution: 0, perf: { now } };
  const unknown = new LRUCache<string, true>({ max: sizes.unknown, ...clock });
  const known = new LRUCache<string, ApiKeyGrant>({
    max: sizes.known,
    ...clock,
    // Resolving to undefined stores nothing; the caller remembers the key as unknown.
    fetchMethod: (key) => findGrant(Buffer.from(key, 'base64')),
  });
  return async (secretHash) => {
    const key = secretHash.toString('base64');
    if (unknown.get(key)) return undefined;
    const grant = await known.fetch(key);
    if (grant === undefined) unknown.set(key, true);
    return grant;
  };
}
