/**
 * Keys that sign the store's digests, head and retention anchor: an HMAC-SHA256 secret, or an Ed25519
 * key pair (sign with the private key; anyone holding only the public key can verify).
 *
 * Signed documents are JSON objects; the signature covers their canonical form (keys sorted, no
 * whitespace) without the `signature` field, and names the algorithm and key id so a verifier never
 * accepts a document signed with another algorithm or key. Key material is never logged or printed.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, KeyObject, sign as edSign, timingSafeEqual, verify as edVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type SigningAlgorithm = 'hmac-sha256' | 'ed25519';

export interface SigningKey {
  readonly algorithm: SigningAlgorithm;
  /** A short fingerprint that identifies the key without revealing it. */
  readonly keyId: string;
  /** False for an Ed25519 public key: it verifies but cannot sign. */
  readonly canSign: boolean;
  sign(data: Buffer): string;
  verify(data: Buffer, signature: string): boolean;
}

/** The smallest HMAC secret accepted, in bytes (the SHA-256 block of security). */
export const MIN_HMAC_KEY_BYTES = 32;

/** The key file is missing, unreadable or not a key. Its message never contains key material. */
export class SigningKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigningKeyError';
  }
}

/**
 * A key from the bytes of a key file: a PEM Ed25519 private key (`-----BEGIN PRIVATE KEY-----`), a PEM
 * Ed25519 public key (`-----BEGIN PUBLIC KEY-----`, verify only), or else raw HMAC secret bytes (one
 * trailing newline is ignored, so `echo`-made files and Secrets agree — see withoutTrailingNewline).
 */
export function signingKeyFromBytes(bytes: Buffer, source: string): SigningKey {
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN')) {
    let key: KeyObject;
    let isPrivate: boolean;
    try {
      isPrivate = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text);
      key = isPrivate ? createPrivateKey(bytes) : createPublicKey(bytes);
    } catch (e) {
      throw new SigningKeyError(`${source}: a PEM block that does not load as a key (${(e as Error).message}); create one with 'openssl genpkey -algorithm ed25519 -out signing.key'`);
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new SigningKeyError(`${source}: a ${key.asymmetricKeyType ?? 'unknown'} key; only Ed25519 PEM keys (or an HMAC secret of ≥ ${MIN_HMAC_KEY_BYTES} bytes) are accepted`);
    }
    const pub = isPrivate ? createPublicKey(key) : key;
    const keyId = 'ed25519:' + createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
    return {
      algorithm: 'ed25519',
      keyId,
      canSign: isPrivate,
      sign(data) {
        if (!isPrivate) throw new SigningKeyError(`${source}: an Ed25519 public key can verify but not sign; give the sink the private key`);
        return edSign(null, data, key).toString('base64');
      },
      verify(data, signature) {
        try {
          return edVerify(null, data, pub, Buffer.from(signature, 'base64'));
        } catch {
          return false;
        }
      },
    };
  }
  const secret = withoutTrailingNewline(bytes);
  if (secret.length < MIN_HMAC_KEY_BYTES) {
    throw new SigningKeyError(
      `${source}: an HMAC secret of ${secret.length} bytes; at least ${MIN_HMAC_KEY_BYTES} are needed — create one with 'head -c 32 /dev/urandom > signing.key' ` +
        "or use an Ed25519 key ('openssl genpkey -algorithm ed25519 -out signing.key')",
    );
  }
  const copy = Buffer.from(secret);
  const keyId = 'hmac:' + createHash('sha256').update('cdk8s-audit sink key id\0').update(copy).digest('hex').slice(0, 16);
  const mac = (data: Buffer) => createHmac('sha256', copy).update(data).digest();
  return {
    algorithm: 'hmac-sha256',
    keyId,
    canSign: true,
    sign: (data) => mac(data).toString('base64'),
    verify(data, signature) {
      const given = Buffer.from(signature, 'base64');
      const expected = mac(data);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/** Reads a key file (e.g. a mounted Secret); errors name the file and the fix, never the content. */
export function loadSigningKey(path: string): SigningKey {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'it is a directory' : err.code ?? err.message;
    throw new SigningKeyError(`signing key ${path}: cannot read it (${why}); mount the Secret holding the key and pass its path`);
  }
  return signingKeyFromBytes(bytes, `signing key ${path}`);
}

/** JSON with object keys sorted at every level and no whitespace: the bytes a signature covers. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

export interface SignedFields {
  readonly algorithm: SigningAlgorithm;
  readonly keyId: string;
  readonly signature: string;
}

/** Adds algorithm, keyId and signature to `doc`. */
export function signDocument<T extends object>(key: SigningKey, doc: T): T & SignedFields {
  const unsigned = { ...doc, algorithm: key.algorithm, keyId: key.keyId };
  const signature = key.sign(Buffer.from(canonicalJson(unsigned), 'utf8'));
  return { ...unsigned, signature };
}

/** Why `doc` is not validly signed by `key`, or undefined when it is. */
export function signatureProblem(key: SigningKey, doc: unknown): string | undefined {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'is not a JSON object';
  const { signature, ...rest } = doc as Record<string, unknown>;
  if (typeof signature !== 'string' || signature === '') return 'has no signature';
  if (rest.algorithm !== key.algorithm) return `is signed with ${JSON.stringify(rest.algorithm)} but the key is ${key.algorithm}`;
  if (rest.keyId !== key.keyId) return `is signed by key ${JSON.stringify(rest.keyId)}, not by the given key ${key.keyId}`;
  if (!key.verify(Buffer.from(canonicalJson(rest), 'utf8'), signature)) return 'has a signature that does not match its content (modified, or signed with another key)';
  return undefined;
}

/**
 * Drops the line end (LF or CRLF) of a text secret (printable ASCII, as `echo` or an editor writes it), and
 * keeps every byte of a binary one: `head -c 32 /dev/urandom` ends in 0x0a one time in 256, and that byte is
 * key material, not a line end.
 */
function withoutTrailingNewline(bytes: Buffer): Buffer {
  if (bytes.length === 0 || bytes[bytes.length - 1] !== 0x0a) return bytes;
  const text = bytes.subarray(0, bytes.length - (bytes.length >= 2 && bytes[bytes.length - 2] === 0x0d ? 2 : 1));
  return text.every((b) => b >= 0x20 && b <= 0x7e) ? text : bytes;
}
