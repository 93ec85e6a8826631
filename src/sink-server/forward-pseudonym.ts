/**
 * Pseudonymized forwarding (GDPR Art. 4(5), a measure of Art. 32(1)(a)): the copy of each event sent to
 * Elasticsearch or Loki carries keyed hashes instead of the requester's user name, UID, extra values and source
 * addresses. The local store keeps the events as received (its hash chain and signatures cover those bytes), so
 * whoever holds the store and the pseudonym key can re-identify; central logging alone cannot.
 *
 * - Same input, same key → same pseudonym, so searches and the sink's alert keys still correlate per user and
 *   per address; a different key (or a rotated one) gives unlinkable pseudonyms.
 * - `system:` identities (control plane, nodes, service accounts, anonymous) are not people and stay readable.
 * - The user name is also replaced where the apiserver copies it into text: responseStatus.message and
 *   annotation values (e.g. the RBAC `authorization.k8s.io/reason`).
 * - Request and response bodies are forwarded as stored: a body may name people (e.g. RBAC subjects); the gdpr
 *   preset records bodies only for changes to access control.
 */
import { readFileSync } from 'node:fs';
import { ConsumerTarget } from './consumer';
import { FeedRecord } from './feed';
import { signingKeyFromBytes, SigningKey, SigningKeyError } from './signing';

/** The prefix of every pseudonym, so a reader can tell one from a real name. */
export const PSEUDONYM_PREFIX = 'pseud-';

interface Identity {
  username?: unknown;
  uid?: unknown;
  groups?: unknown;
  extra?: unknown;
}

interface MutableEvent {
  user?: Identity;
  impersonatedUser?: Identity;
  sourceIPs?: unknown;
  annotations?: unknown;
  responseStatus?: { message?: unknown };
}

/** Replaces personal identifiers in audit events with keyed hashes (HMAC-SHA256, 128 bits shown). */
export class Pseudonymizer {
  constructor(private readonly key: SigningKey) {
    if (key.algorithm !== 'hmac-sha256') throw new SigningKeyError('pseudonym key: an Ed25519 key; give a secret of at least 32 random bytes (head -c 32 /dev/urandom > pseudonym.key)');
  }

  /** Loads the key file (a mounted Secret); errors name the file, never the content. */
  static fromFile(path: string): Pseudonymizer {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new SigningKeyError(`pseudonym key ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); mount the Secret holding the key and pass its path`);
    }
    if (bytes.toString('latin1').includes('-----BEGIN')) throw new SigningKeyError(`pseudonym key ${path}: a PEM key; give a secret of at least 32 random bytes (head -c 32 /dev/urandom > pseudonym.key)`);
    try {
      return new Pseudonymizer(signingKeyFromBytes(bytes, `pseudonym key ${path}`));
    } catch (e) {
      // Not PEM, so a too-short secret: its fix there names the signing key and Ed25519, which a pseudonym key must not be.
      if (!(e instanceof SigningKeyError)) throw e;
      throw new SigningKeyError(`${e.message.split(' — ')[0]} — create one with 'head -c 32 /dev/urandom > pseudonym.key' (a key of its own, not the signing key)`);
    }
  }

  /** The pseudonym of one value; `kind` separates the name spaces (a user called "10.0.0.1" is not that address). */
  pseudonym(kind: 'user' | 'uid' | 'extra' | 'ip', value: string): string {
    const mac = Buffer.from(this.key.sign(Buffer.from(`cdk8s-audit pseudonym\0${kind}\0${value}`, 'utf8')), 'base64');
    return PSEUDONYM_PREFIX + mac.subarray(0, 16).toString('hex');
  }

  /** The event's JSON with the identifiers replaced. An event that is not a JSON object is withheld, not forwarded. */
  event(bytes: Buffer): Buffer {
    let e: MutableEvent;
    try {
      e = JSON.parse(bytes.toString('utf8')) as MutableEvent;
    } catch {
      e = undefined as unknown as MutableEvent;
    }
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return Buffer.from('{"kind":"Event","annotations":{"cdk8s-audit.io/pseudonymized":"withheld: not a JSON object"}}');
    const names = new Map<string, string>();
    for (const who of [e.user, e.impersonatedUser]) if (who && typeof who === 'object') this.identity(who, names);
    if (Array.isArray(e.sourceIPs)) e.sourceIPs = e.sourceIPs.map((ip) => (typeof ip === 'string' ? this.pseudonym('ip', ip) : ip));
    if (names.size) {
      if (e.responseStatus && typeof e.responseStatus.message === 'string') e.responseStatus.message = replaceAll(e.responseStatus.message, names);
      if (e.annotations && typeof e.annotations === 'object') {
        const a = e.annotations as Record<string, unknown>;
        for (const k of Object.keys(a)) if (typeof a[k] === 'string') a[k] = replaceAll(a[k] as string, names);
      }
    }
    return Buffer.from(JSON.stringify(e), 'utf8');
  }

  private identity(who: Identity, names: Map<string, string>): void {
    if (typeof who.username === 'string' && !who.username.startsWith('system:')) {
      const p = this.pseudonym('user', who.username);
      if (who.username !== '') names.set(who.username, p);
      who.username = p;
    }
    const person = typeof who.username === 'string' && who.username.startsWith(PSEUDONYM_PREFIX);
    if (person && typeof who.uid === 'string') who.uid = this.pseudonym('uid', who.uid);
    if (person && who.extra && typeof who.extra === 'object') {
      const extra = who.extra as Record<string, unknown>;
      for (const k of Object.keys(extra)) if (Array.isArray(extra[k])) extra[k] = (extra[k] as unknown[]).map((v) => (typeof v === 'string' ? this.pseudonym('extra', v) : v));
    }
  }
}

/** Every occurrence of each name, longest first (so "alice" inside "alice-admin" does not split it). */
function replaceAll(text: string, names: ReadonlyMap<string, string>): string {
  let out = text;
  for (const [name, p] of [...names].sort((a, b) => b[0].length - a[0].length)) out = out.split(name).join(p);
  return out;
}

/** An output that gets pseudonymised copies of the records; the records themselves (and the store) are unchanged. */
export class PseudonymizingTarget implements ConsumerTarget {
  constructor(
    private readonly inner: ConsumerTarget,
    private readonly pseudonymizer: Pseudonymizer,
  ) {}

  deliver(records: readonly FeedRecord[], signal: AbortSignal): Promise<void> {
    return this.inner.deliver(records.map((r) => ({ ...r, event: this.pseudonymizer.event(r.event) })), signal);
  }
}
