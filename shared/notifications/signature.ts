/**
 * Standard Webhooks signatures (docs/spec.md §12, https://www.standardwebhooks.com): `v1,<base64 HMAC-SHA256 of
 * "{id}.{timestamp}.{body}">` under each `whsec_<base64>` secret, space-separated (two during a rotation, the
 * current secret first). The receiver accepts a message when any one of them verifies.
 */
import { createHmac } from 'node:crypto';
import { StatusCacheError } from '../errors';

export const SECRET_PREFIX = 'whsec_';

/**
 * The `webhook-signature` header value for one message.
 * `secrets`: `whsec_…` secrets (`SigningSecrets.secretsFor`); `id`: the `webhook-id` header (the event id);
 * `timestamp`: the `webhook-timestamp` header, unix seconds; `body`: the exact bytes sent, as a string (UTF-8).
 */
export function sign(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  if (secrets.length === 0) throw new StatusCacheError('No signing secret to sign with');
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new StatusCacheError('The webhook timestamp must be whole unix seconds');
  }
  const content = `${id}.${timestamp}.${body}`;
  return secrets
    .map(
      (secret) => `v1,${createHmac('sha256', secretBytes(secret)).update(content, 'utf8').digest('base64')}`,
    )
    .join(' ');
}

/** The key bytes of a `whsec_<base64>` secret. */
export function secretBytes(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : '';
  if (!/^[A-Za-z0-9+/]{22,}={0,2}$/.test(encoded)) {
    // The value is not echoed: it is a secret, even when malformed.
    throw new StatusCacheError('A signing secret must be whsec_ followed by base64 (at least 16 bytes)');
  }
  return Buffer.from(encoded, 'base64');
}
