import { randomBytes } from 'node:crypto';
import type { HttpResponseInit } from '@azure/functions';
import type { Clock } from '../clock';
import {
  SUBSCRIPTION_ID_PATTERN,
  type DeliveryLog,
  type DeliveryRecord,
  type SigningSecrets,
  type Subscription,
  type SubscriptionStore,
} from '../notifications/types';
import { type ApiError, notFound } from './errors';
import { json, nextLink, parseTop, type Query } from './jobsApi';
import { parseSubscriptionBody, type SubscriptionBodyContext } from './subscriptionBody';

export interface SubscriptionsApiDeps extends SubscriptionBodyContext {
  store: SubscriptionStore;
  deliveries: DeliveryLog;
  secrets: SigningSecrets;
  clock: Clock;
  /** New subscription ids (default: 16 random bytes as hex). */
  newId?: () => string;
  /** A subscription was stored (transitions store and send their events from now on). */
  onCreated?: () => void;
}

/**
 * The webhook subscription routes (docs/spec.md §7, §12). The signing secret is derived, never stored: it is
 * returned by creation and rotation only, and appears in no other answer, log line or table.
 */
export class SubscriptionsApi {
  constructor(private readonly deps: SubscriptionsApiDeps) {}

  async create(bodyText: string, contentType: string | null, baseUrl: string): Promise<HttpResponseInit> {
    const request = parseSubscriptionBody(bodyText, contentType, this.deps);
    const now = this.deps.clock.now();
    const subscription: Subscription = {
      id: this.deps.newId?.() ?? randomBytes(16).toString('hex'),
      ...request,
      createdAt: now.toISOString(),
      version: 1,
    };
    // The secret first: when the vault cannot be read, nothing is stored.
    const [secret] = await this.deps.secrets.secretsFor(subscription, now);
    await this.deps.store.create(subscription);
    this.deps.onCreated?.();
    return {
      status: 201,
      headers: {
        location: `${baseUrl}/api/subscriptions/${subscription.id}`,
        'content-type': 'application/json; charset=utf-8',
      },
      jsonBody: { ...subscriptionView(subscription, now), secret },
    };
  }

  async list(query: Query, baseUrl: string): Promise<HttpResponseInit> {
    const top = parseTop(query.get('top'));
    const skipToken = query.get('skipToken') ?? undefined;
    const page = await this.deps.store.list({
      top,
      ...(skipToken !== undefined ? { continuationToken: skipToken } : {}),
    });
    const now = this.deps.clock.now();
    const next = page.continuationToken
      ? nextLink(`${baseUrl}/api/subscriptions`, { top: String(top), skipToken: page.continuationToken })
      : undefined;
    return json(200, {
      value: page.items.map((s) => subscriptionView(s, now)),
      ...(next ? { nextLink: next } : {}),
    });
  }

  async get(id: string | undefined): Promise<HttpResponseInit> {
    return json(200, subscriptionView(await this.load(id), this.deps.clock.now()));
  }

  /** 204 whether or not it existed; its delivery records go with it. */
  async delete(id: string | undefined): Promise<HttpResponseInit> {
    if (id !== undefined && SUBSCRIPTION_ID_PATTERN.test(id)) {
      await this.deps.store.delete(id);
      await this.deps.deliveries.deleteAll?.(id);
    }
    return { status: 204 };
  }

  /** A new secret; the previous one still signs for 24 h (both are sent during that time). */
  async rotate(id: string | undefined): Promise<HttpResponseInit> {
    const current = await this.load(id);
    const now = this.deps.clock.now();
    // Read the vault before changing anything: a vault that cannot be read leaves the subscription as it was.
    await this.deps.secrets.secretsFor(current, now);
    const rotated = await this.deps.store.rotate(current.id, now);
    if (rotated === undefined) throw subscriptionNotFound(id);
    const [secret] = await this.deps.secrets.secretsFor(rotated, now);
    return json(200, { ...subscriptionView(rotated, now), secret });
  }

  async listDeliveries(id: string | undefined, query: Query, baseUrl: string): Promise<HttpResponseInit> {
    const subscription = await this.load(id);
    const top = parseTop(query.get('top'));
    const skipToken = query.get('skipToken') ?? undefined;
    const page = await this.deps.deliveries.list(subscription.id, {
      top,
      ...(skipToken !== undefined ? { continuationToken: skipToken } : {}),
    });
    const next = page.continuationToken
      ? nextLink(`${baseUrl}/api/subscriptions/${subscription.id}/deliveries`, {
          top: String(top),
          skipToken: page.continuationToken,
        })
      : undefined;
    return json(200, { value: page.items.map(deliveryView), ...(next ? { nextLink: next } : {}) });
  }

  private async load(id: string | undefined): Promise<Subscription> {
    const subscription =
      id !== undefined && SUBSCRIPTION_ID_PATTERN.test(id) ? await this.deps.store.get(id) : undefined;
    if (subscription === undefined) throw subscriptionNotFound(id);
    return subscription;
  }
}

function subscriptionNotFound(id: string | undefined): ApiError {
  return notFound(
    id !== undefined && SUBSCRIPTION_ID_PATTERN.test(id)
      ? `Subscription ${id} does not exist.`
      : 'No subscription has that id.',
    'id',
  );
}

/** A subscription as the API shows it: never a secret, nor the version it is derived from. */
export function subscriptionView(s: Subscription, now: Date): Record<string, unknown> {
  const previous = s.previousVersion;
  const overlap = previous !== undefined && Date.parse(previous.validUntil) > now.getTime();
  return {
    id: s.id,
    url: s.url,
    events: s.events,
    ...(s.kinds !== undefined ? { kinds: s.kinds } : {}),
    ...(s.jobIds !== undefined ? { jobIds: s.jobIds } : {}),
    ...(s.description !== undefined ? { description: s.description } : {}),
    createdAt: s.createdAt,
    ...(overlap ? { previousSecretValidUntil: previous.validUntil } : {}),
    ...(s.disabled !== undefined ? { disabled: s.disabled } : {}),
  };
}

function deliveryView(r: DeliveryRecord): Record<string, unknown> {
  return {
    eventId: r.eventId,
    type: r.type,
    jobId: r.jobId,
    status: r.status,
    attempts: r.attempts,
    lastAttemptAt: r.lastAttemptAt ?? null,
    ...(r.lastHttpStatus !== undefined ? { lastHttpStatus: r.lastHttpStatus } : {}),
  };
}
