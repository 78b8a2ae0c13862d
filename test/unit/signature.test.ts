/**
 * Standard Webhooks signing (docs/spec.md §12), checked by the `standardwebhooks` reference library (a verifier no
 * one here wrote), and the signing secrets derived from the vault secret, during and after a rotation.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { sign } from '../../shared/notifications/signature';
import { DerivedSigningSecrets } from '../../shared/notifications/signingSecrets';
import { ROTATION_OVERLAP_MS, type Subscription } from '../../shared/notifications/types';

const ROOT = 'root-signing-secret-7d1e0c55a9b3-do-not-print';
const T0 = new Date('2026-03-01T12:00:00.000Z');
const BODY = JSON.stringify({
  type: 'job.completed',
  timestamp: T0.toISOString(),
  data: { id: 'a'.repeat(32) },
});

/** The vault as the key cache serves it: one secret by name. */
function secretsFrom(values: Record<string, string>): DerivedSigningSecrets {
  return new DerivedSigningSecrets({
    keys: {
      getKey: (name) => {
        const value = values[name];
        return value === undefined ? Promise.reject(new Error(`no secret ${name}`)) : Promise.resolve(value);
      },
    },
    secretName: 'webhook-signing',
  });
}

function subscription(fields: Partial<Subscription> = {}): Subscription {
  return {
    id: '0123456789abcdef0123456789abcdef',
    url: 'https://hooks.contoso.com/training',
    events: ['job.statusChanged', 'job.completed'],
    createdAt: T0.toISOString(),
    version: 1,
    ...fields,
  };
}

/** The three Standard Webhooks headers of a message signed now. */
function headersFor(secrets: string[], id = 'evt_1'): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(secrets, id, timestamp, BODY),
  };
}

describe('sign', () => {
  it('makes the signature the reference library makes, and the library verifies it', async () => {
    // Prepare
    const [secret] = await secretsFrom({ 'webhook-signing': ROOT }).secretsFor(subscription(), T0);
    const timestamp = Math.floor(Date.now() / 1000);

    // Act
    const header = sign([secret!], 'evt_1', timestamp, BODY);

    // Assess
    expect(header).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(header).toBe(new Webhook(secret!).sign('evt_1', new Date(timestamp * 1000), BODY));
    expect(new Webhook(secret!).verify(BODY, headersFor([secret!]))).toEqual(JSON.parse(BODY));
  });

  it('signs with every secret given, space-separated, and either secret alone verifies', async () => {
    // Prepare
    const secrets = secretsFrom({ 'webhook-signing': ROOT });
    const [current] = await secrets.secretsFor(subscription({ version: 2 }), T0);
    const [previous] = await secrets.secretsFor(subscription({ version: 1 }), T0);

    // Act
    const headers = headersFor([current!, previous!]);

    // Assess
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(current!).verify(BODY, headers)).not.toThrow();
    expect(() => new Webhook(previous!).verify(BODY, headers)).not.toThrow();
  });

  it('is refused by the library under another secret, or when one byte of the body changes', async () => {
    // Prepare
    const secrets = secretsFrom({ 'webhook-signing': ROOT });
    const [mine] = await secrets.secretsFor(subscription(), T0);
    const [other] = await secrets.secretsFor(subscription({ id: 'f'.repeat(32) }), T0);
    const headers = headersFor([mine!]);

    // Act
    const underOther = (): unknown => new Webhook(other!).verify(BODY, headers);
    const tampered = (): unknown =>
      new Webhook(mine!).verify(BODY.replace('completed', 'Completed'), headers);

    // Assess
    expect(underOther).toThrow(WebhookVerificationError);
    expect(tampered).toThrow(WebhookVerificationError);
  });

  it('refuses a malformed secret without echoing it, and an empty list of secrets', () => {
    // Act
    const malformed = (): string => sign(['whsec_not base64 at all!'], 'evt_1', 1, BODY);
    const unprefixed = (): string => sign(['c2VjcmV0LXdpdGhvdXQtcHJlZml4LTEyMzQ1Njc4'], 'evt_1', 1, BODY);
    const none = (): string => sign([], 'evt_1', 1, BODY);

    // Assess
    expect(malformed).toThrow(/whsec_ followed by base64/);
    expect(malformed).not.toThrow(/not base64 at all/);
    expect(unprefixed).toThrow(/whsec_/);
    expect(none).toThrow(/No signing secret/);
  });
});

describe('DerivedSigningSecrets', () => {
  it('derives one whsec_ secret of 32 bytes per subscription id and version, the same on every call', async () => {
    // Prepare
    const secrets = secretsFrom({ 'webhook-signing': ROOT });

    // Act
    const a = await secrets.secretsFor(subscription(), T0);
    const again = await secrets.secretsFor(subscription(), T0);
    const nextVersion = await secrets.secretsFor(subscription({ version: 2 }), T0);
    const otherId = await secrets.secretsFor(subscription({ id: 'e'.repeat(32) }), T0);
    const otherRoot = await secretsFrom({ 'webhook-signing': `${ROOT}-rotated` }).secretsFor(
      subscription(),
      T0,
    );

    // Assess
    expect(a).toHaveLength(1);
    expect(a[0]).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a[0]!.slice(6), 'base64')).toHaveLength(32);
    expect(again).toEqual(a);
    expect(new Set([a[0], nextVersion[0], otherId[0], otherRoot[0]]).size).toBe(4);
    expect(a[0]).not.toContain(ROOT);
  });

  it('gives the current secret first and the previous one until 24 h after the rotation, then only the current', async () => {
    // Prepare
    const secrets = secretsFrom({ 'webhook-signing': ROOT });
    const [v1] = await secrets.secretsFor(subscription({ version: 1 }), T0);
    const [v2] = await secrets.secretsFor(subscription({ version: 2 }), T0);
    const validUntil = new Date(T0.getTime() + ROTATION_OVERLAP_MS);
    const rotated = subscription({
      version: 2,
      previousVersion: { version: 1, validUntil: validUntil.toISOString() },
    });

    // Act
    const during = await secrets.secretsFor(rotated, new Date(validUntil.getTime() - 1));
    const after = await secrets.secretsFor(rotated, validUntil);

    // Assess
    expect(during).toEqual([v2, v1]);
    expect(after).toEqual([v2]);
  });

  it('fails, without a secret, when the vault secret cannot be read', async () => {
    // Prepare
    const secrets = secretsFrom({});

    // Act
    const read = secrets.secretsFor(subscription(), T0);

    // Assess
    await expect(read).rejects.toThrow(/no secret webhook-signing/);
  });
});
