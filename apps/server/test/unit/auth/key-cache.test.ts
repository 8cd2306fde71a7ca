// The API key cache on its own (no server, no database): what it remembers, for how long,
// and what it refuses to remember. The clock is pinned; nothing sleeps.
import { describe, expect, it } from 'vitest';
import { cachedFindGrant, type FindGrant } from '../../../src/auth/key-cache.ts';
import type { ApiKeyGrant } from '../../../src/data/api-keys.ts';

const grant: ApiKeyGrant = { tenantId: 't', apiKeyId: 'k', revoked: false, departmentIds: ['d'] };
const hash = (n: number) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');

function setup(ttlMs = 1000, sizes = { known: 10, unknown: 5 }) {
  let clock = 1_700_000_000_000;
  const looked: string[] = [];
  let failNext = false;
  const findGrant: FindGrant = async (secretHash) => {
    looked.push(secretHash.toString('hex'));
    if (failNext) {
      failNext = false;
      throw new Error('database down');
    }
    return secretHash.equals(hash(1)) ? grant : undefined;
  };
  const lookup = cachedFindGrant(findGrant, ttlMs, () => clock, sizes);
  return {
    lookup,
    lookups: () => looked.length,
    advance: (ms: number) => (clock += ms),
    failNextLookup: () => (failNext = true),
  };
}

describe('key cache', () => {
  it('remembers a known key until its TTL has passed', async () => {
    const c = setup(1000);
    expect(await c.lookup(hash(1))).toEqual(grant);
    c.advance(1000);
    expect(await c.lookup(hash(1))).toEqual(grant);
    expect(c.lookups()).toBe(1);
    c.advance(1);
    expect(await c.lookup(hash(1))).toEqual(grant);
    expect(c.lookups()).toBe(2);
  });

  it('remembers an unknown key too, for the same TTL', async () => {
    const c = setup(1000);
    for (let i = 0; i < 5; i++) expect(await c.lookup(hash(2))).toBeUndefined();
    expect(c.lookups()).toBe(1);
    c.advance(1001);
    expect(await c.lookup(hash(2))).toBeUndefined();
    expect(c.lookups()).toBe(2);
  });

  it('shares one lookup between concurrent requests for one key', async () => {
    const c = setup();
    const results = await Promise.all([1, 1, 1, 2, 2].map((n) => c.lookup(hash(n))));
    expect(results).toEqual([grant, grant, grant, undefined, undefined]);
    expect(c.lookups()).toBe(2);
  });

  it('does not remember a lookup that failed', async () => {
    const c = setup();
    c.failNextLookup();
    await expect(c.lookup(hash(1))).rejects.toThrow('database down');
    expect(await c.lookup(hash(1))).toEqual(grant);
    expect(c.lookups()).toBe(2);
  });

  it('a flood of unknown keys does not evict known ones', async () => {
    const c = setup();
    await c.lookup(hash(1));
    // More unknown keys than the known-key cache holds: in one shared cache they would evict it.
    for (let n = 100; n < 150; n++) await c.lookup(hash(n));
    const before = c.lookups();
    expect(await c.lookup(hash(1))).toEqual(grant);
    expect(c.lookups()).toBe(before);
  });

  it('keeps the most recently used unknown keys when full', async () => {
    const c = setup();
    for (let n = 100; n < 105; n++) await c.lookup(hash(n)); // fills the 5 places
    await c.lookup(hash(100)); // used again: the most recent
    await c.lookup(hash(200)); // evicts the least recently used, 101
    const before = c.lookups();
    await c.lookup(hash(100));
    expect(c.lookups()).toBe(before);
    await c.lookup(hash(101));
    expect(c.lookups()).toBe(before + 1);
  });

  it('TTL 0 remembers nothing', async () => {
    const c = setup(0);
    await c.lookup(hash(1));
    await c.lookup(hash(2));
    await c.lookup(hash(1));
    await c.lookup(hash(2));
    expect(c.lookups()).toBe(4);
  });
});
