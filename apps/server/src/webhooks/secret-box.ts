// Webhook signing secrets at rest: sealed with AES-256-GCM under the server key
// (WEBHOOK_ENCRYPTION_KEY, or a key file kept with the embedded database's data), so a copy of
// the database alone signs nothing. GCM's tag makes any change to a sealed secret an error
// rather than a silently different secret.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export type SecretBox = { seal(secret: string): Buffer; open(sealed: Buffer): string };

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Decodes a base64 key; throws a message naming what is wrong (never the key itself). */
export function decodeKey(keyBase64: string): Buffer {
  const key = Buffer.from(keyBase64.trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(`a webhook encryption key must be base64 of ${KEY_BYTES} bytes (got ${key.length} bytes)`);
  }
  return key;
}

export function secretBox(keyBase64: string): SecretBox {
  const key = decodeKey(keyBase64);
  return {
    seal(secret) {
      // A random nonce per seal: with 96 bits, collisions are negligible for the number of
      // secrets one server will ever seal, and GCM needs nonces never to repeat under one key.
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]);
    },
    open(sealed) {
      if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new Error('sealed secret is too short');
      const nonce = sealed.subarray(0, NONCE_BYTES);
      const tag = sealed.subarray(sealed.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAuthTag(tag);
      // final() throws when the tag does not match: tampered data or the wrong key.
      const plaintext = Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
      return plaintext.toString('utf8');
    },
  };
}

/** A Standard Webhooks signing secret: 'whsec_' + base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The server key kept in a file (for `npm start` without WEBHOOK_ENCRYPTION_KEY). Created once
 * with mode 0600; never overwritten, because every sealed secret depends on it. Two processes
 * starting at once both end up with the same key: the file appears atomically (written to a
 * temporary name, then hard-linked into place, which fails if another process won the race),
 * and the loser reads the winner's key.
 */
export async function loadOrCreateKeyFile(path: string): Promise<string> {
  const existing = await readKeyFile(path);
  if (existing !== undefined) return existing;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES).toString('base64');
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${key}\n`, { mode: 0o600, flag: 'wx' });
  try {
    // link() rather than rename(): rename would replace a key another process created meanwhile.
    await link(tmp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      // File systems without hard links: rename is still atomic; re-check first to narrow the race.
      if ((await readKeyFile(path)) === undefined) {
        await rename(tmp, path);
        return key;
      }
    }
  } finally {
    await rm(tmp, { force: true });
  }
  const stored = await readKeyFile(path);
  if (stored === undefined) throw new Error(`could not create the webhook key file ${path}`);
  return stored;
}

async function readKeyFile(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const key = text.trim();
  decodeKey(key); // a corrupt key file is an error to report, never a reason to make a new key
  return key;
}
