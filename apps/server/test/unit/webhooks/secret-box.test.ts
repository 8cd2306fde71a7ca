// Sealed secrets round-trip, differ on every seal, and refuse any tampering or the wrong key;
// the key file is created once (0600, directories as needed) and never replaced.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeyFile, newSigningSecret, secretBox } from '../../../src/webhooks/secret-box.ts';

const key = randomBytes(32).toString('base64');

describe('secretBox', () => {
  const box = secretBox(key);
  const secret = newSigningSecret();

  it('opens what it sealed; the sealed bytes do not contain the secret', () => {
    const sealed = box.seal(secret);
    expect(box.open(sealed)).toBe(secret);
    expect(sealed.length).toBe(12 + Buffer.byteLength(secret) + 16);
    expect(sealed.includes(Buffer.from(secret))).toBe(false);
    expect(sealed.includes(Buffer.from(secret.slice(6), 'base64'))).toBe(false);
  });

  it('uses a new nonce on every seal', () => {
    const a = box.seal(secret);
    const b = box.seal(secret);
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it('throws on any flipped byte (nonce, ciphertext, tag) and on truncation', () => {
    const sealed = box.seal(secret);
    for (const index of [0, 11, 12, 20, sealed.length - 16, sealed.length - 1]) {
      const tampered = Buffer.from(sealed);
      tampered[index]! ^= 0x01;
      expect(() => box.open(tampered), `byte ${index}`).toThrow();
    }
    expect(() => box.open(sealed.subarray(0, sealed.length - 1))).toThrow();
    expect(() => box.open(Buffer.alloc(10))).toThrow();
  });

  it('throws under another key', () => {
    const other = secretBox(randomBytes(32).toString('base64'));
    expect(() => other.open(box.seal(secret))).toThrow();
  });

  it('refuses a key that is not 32 bytes, without echoing it', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => secretBox(short)).toThrow(/32 bytes \(got 16 bytes\)/);
    try {
      secretBox(short);
    } catch (error) {
      expect((error as Error).message).not.toContain(short);
    }
  });
});

describe('newSigningSecret', () => {
  it("is 'whsec_' + base64 of 32 random bytes, different every time", () => {
    const a = newSigningSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(newSigningSecret()).not.toBe(a);
  });
});

describe('loadOrCreateKeyFile', () => {
  const dirs: string[] = [];
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'webhook-key-'));
    dirs.push(dir);
    return dir;
  }
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('creates a 0600 key file (and its directories) once, then returns the same key', async () => {
    const path = join(await tempDir(), 'nested', 'deeper', 'webhook.key');
    const created = await loadOrCreateKeyFile(path);
    expect(Buffer.from(created, 'base64')).toHaveLength(32);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, 'utf8')).trim()).toBe(created);
    expect(await loadOrCreateKeyFile(path)).toBe(created);
    secretBox(created); // usable as is
  });

  it('never overwrites an existing key', async () => {
    const path = join(await tempDir(), 'webhook.key');
    await writeFile(path, `${key}\n`);
    expect(await loadOrCreateKeyFile(path)).toBe(key);
    expect((await readFile(path, 'utf8')).trim()).toBe(key);
  });

  it('gives every concurrent caller the same key and leaves no temporary files', async () => {
    const dir = await tempDir();
    const path = join(dir, 'webhook.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateKeyFile(path)));
    expect(new Set(keys).size).toBe(1);
    expect((await readFile(path, 'utf8')).trim()).toBe(keys[0]);
    expect(await readdir(dir)).toEqual(['webhook.key']);
  });

  it('refuses a corrupt key file instead of replacing it', async () => {
    const path = join(await tempDir(), 'webhook.key');
    await writeFile(path, 'not a key');
    await expect(loadOrCreateKeyFile(path)).rejects.toThrow(/32 bytes/);
    expect(await readFile(path, 'utf8')).toBe('not a key');
  });
});
