// API key secrets: `dk_<8 hex chars: public prefix>_<32 random base64url chars>`. Only the SHA-256 of the whole
// secret and its public prefix are stored. Keys carry 190+ random bits, so an unsalted fast
// hash is safe here (no dictionary to attack) and keeps the per-request lookup cheap.
import { createHash, randomBytes } from 'node:crypto';

export type NewApiKeySecret = { secret: string; prefix: string; hash: Buffer };

export function generateApiKeySecret(): NewApiKeySecret {
  const prefix = `dk_${randomBytes(4).toString('hex')}`;
  const secret = `${prefix}_${randomBytes(24).toString('base64url')}`;
  return { secret, prefix, hash: hashApiKeySecret(secret) };
}

export function hashApiKeySecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
