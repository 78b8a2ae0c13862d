/**
 * The key oracle's guards (docs/spec.md §13): keys compared in constant time, failed attempts limited per client
 * address. Keys never leave this file: not in a message, an error or a log line.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock';

/**
 * Whether `presented` equals `expected`, in time that depends on neither: both are hashed (SHA-256) first, so
 * `timingSafeEqual` compares two 32-byte digests whatever the lengths, and nothing returns early on a prefix.
 */
export function keysMatch(presented: string, expected: string): boolean {
  return timingSafeEqual(keyDigest(presented), keyDigest(expected));
}

/** The SHA-256 digest of a key: what `keysMatch` and `KeyDigests` compare. */
export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Whether two key digests are equal, in constant time. */
export function digestsMatch(presented: Buffer, expected: Buffer): boolean {
  return timingSafeEqual(presented, expected);
}

/**
 * The digest of each secret's current key value, computed once per value rather than once per request: an entry
 * is reused only while the key cache hands out the same value for that secret name (a rotated value is hashed
 * anew). In memory only, next to the key cache that holds the value itself; at most `maxEntries` secrets.
 */
export class KeyDigests {
  private readonly digests = new Map<string, { value: string; digest: Buffer }>();

  constructor(private readonly maxEntries = 1_000) {}

  digestOf(secretName: string, value: string): Buffer {
    const known = this.digests.get(secretName);
    // Two values read from the vault are compared here, never a caller's key: no timing to protect.
    if (known !== undefined && known.value === value) return known.digest;
    const digest = keyDigest(value);
    if (known === undefined && this.digests.size >= this.maxEntries) this.digests.clear();
    this.digests.set(secretName, { value, digest });
    return digest;
  }
}

export interface AttemptLimiterOptions {
  /** Failed attempts allowed per client address in `windowMs` (default 10). */
  maxFailures?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** Addresses remembered at most (the oldest is forgotten first; default 10,000). */
  maxClients?: number;
}

/**
 * Failed key attempts per client address, in a sliding window (in memory, per instance). After `maxFailures`
 * failures in `windowMs`, every request of that address is refused until the oldest failure leaves the window,
 * whatever key it carries: a brute force cannot go on, and cannot learn whether a later guess was right.
 */
export class AttemptLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxClients: number;

  constructor(
    private readonly clock: Clock,
    options: AttemptLimiterOptions = {},
  ) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxClients = options.maxClients ?? 10_000;
  }

  /** Seconds until `client` may try again, or undefined when it may try now. */
  retryAfterSeconds(client: string): number | undefined {
    const recent = this.recent(client);
    if (recent.length < this.maxFailures) return undefined;
    const freeAt = recent[recent.length - this.maxFailures]! + this.windowMs;
    return Math.max(1, Math.ceil((freeAt - this.clock.now().getTime()) / 1000));
  }

  /** Records one failed attempt of `client`. */
  fail(client: string): void {
    const recent = [...this.recent(client), this.clock.now().getTime()].slice(-this.maxFailures);
    this.failures.delete(client); // re-inserted last: the map's order is the order of last failure
    this.failures.set(client, recent);
    while (this.failures.size > this.maxClients) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
  }

  private recent(client: string): number[] {
    const times = this.failures.get(client);
    if (!times) return [];
    const since = this.clock.now().getTime() - this.windowMs;
    const recent = times.filter((t) => t > since);
    if (recent.length === 0) this.failures.delete(client);
    else if (recent.length !== times.length) this.failures.set(client, recent);
    return recent;
  }
}

/**
 * The client's address: the last entry of `X-Forwarded-For`, which is the one the front end in front of the app
 * appended (Azure App Service / Functions: the caller's address, `ip:port`); entries before it are the caller's own
 * and are not trusted. The port is dropped. The local host appends the socket's address the same way. Without the
 * header: `unknown` (one shared budget of attempts).
 */
export function clientAddress(forwardedFor: string | null): string {
  const last = forwardedFor
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .pop();
  if (last === undefined) return 'unknown';
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(last);
  if (bracketed) return bracketed[1]!.toLowerCase().slice(0, 64);
  const ipv4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(last);
  if (ipv4WithPort) return ipv4WithPort[1]!;
  return last
    .toLowerCase()
    .replace(/^::ffff:/, '')
    .slice(0, 64);
}
