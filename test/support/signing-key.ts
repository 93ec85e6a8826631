import { randomBytes } from 'node:crypto';

/**
 * 32 random bytes for an HMAC signing-key file that the sink reads back as 32 bytes. The key loader strips
 * one trailing newline (for keys written with echo), so plain randomBytes(32) ending in 0x0a loads as a
 * 31-byte key and is refused: a 1-in-256 failure of whichever test drew it. Tests need a key that works;
 * the loader's behaviour itself is tested in test/unit/sink.
 */
export function hmacKeyFileBytes(): Buffer {
  const key = randomBytes(32);
  if (key[key.length - 1] === 0x0a) key[key.length - 1] = 0x0b;
  return key;
}
