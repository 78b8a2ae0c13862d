/**
 * Signing secrets derived, never stored (docs/spec.md §12): a subscription's `whsec_…` secret is
 * HMAC-SHA256(vault secret, "webhook-signing/v1|{subscription id}|{version}"). The vault secret
 * (`WEBHOOK_SIGNING_SECRET_NAME`) is read through the key cache (`KeyClient`: one vault read per TTL); the table
 * holds only the version, so a copy of the tables signs nothing. Rotation bumps the version: the previous one
 * still signs until `previousVersion.validUntil` (24 h).
 *
 * Changing the vault secret itself changes every subscription's secret at once: rotate subscriptions instead.
 */
import { createHmac } from 'node:crypto';
import { SECRET_PREFIX } from './signature';
import type { SigningSecrets, Subscription } from './types';

/** The key cache (`KeyClient` satisfies it). */
export interface SigningKeySource {
  getKey(name: string, options?: { abortSignal?: AbortSignal }): Promise<string>;
}

const DERIVATION_LABEL = 'webhook-signing/v1';

export class DerivedSigningSecrets implements SigningSecrets {
  constructor(
    private readonly deps: {
      keys: SigningKeySource;
      /** `config.notifications.signingSecretName`. */
      secretName: string;
    },
  ) {}

  async secretsFor(
    subscription: Pick<Subscription, 'id' | 'version' | 'previousVersion'>,
    now: Date,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<string[]> {
    const root = await this.deps.keys.getKey(this.deps.secretName, options);
    const secrets = [deriveSecret(root, subscription.id, subscription.version)];
    const previous = subscription.previousVersion;
    if (previous !== undefined && now.getTime() < Date.parse(previous.validUntil)) {
      secrets.push(deriveSecret(root, subscription.id, previous.version));
    }
    return secrets;
  }
}

function deriveSecret(root: string, subscriptionId: string, version: number): string {
  const bytes = createHmac('sha256', Buffer.from(root, 'utf8'))
    .update(`${DERIVATION_LABEL}|${subscriptionId}|${version}`, 'utf8')
    .digest();
  return `${SECRET_PREFIX}${bytes.toString('base64')}`;
}
