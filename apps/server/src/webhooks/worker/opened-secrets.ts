// Opened signing secrets, kept for a short while: opening one (AES-256-GCM) for every delivery
// was per-delivery work for an answer that only changes when the endpoint's secret does. The
// key is the sealed bytes themselves (their nonce is random per seal), so a rotated secret is
// a new entry and never confused with the old one. Plaintext stays in this process's memory
// for at most TTL_MS after it was opened (it is in memory anyway while a delivery is signed).
import type { SecretBox } from '../secret-box.ts';

const TTL_MS = 60_000;
const MAX_ENTRIES = 1000;

export type OpenedSecrets = { open(sealed: Buffer): string };

export function openedSecrets(box: SecretBox, clock: () => number = Date.now): OpenedSecrets {
  const cache = new Map<string, { secret: string; until: number }>();
  return {
    open(sealed) {
      const key = sealed.toString('base64');
      const now = clock();
      const hit = cache.get(key);
      if (hit && hit.until > now) return hit.secret;
      // Throws when the server key does not open it: never cached.
      const secret = box.open(sealed);
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(key, { secret, until: now + TTL_MS });
      return secret;
    },
  };
}
