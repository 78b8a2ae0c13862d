import { createHmac } from 'node:crypto';
import type {
  DeliveryLog,
  DeliveryRecord,
  EventType,
  SigningSecrets,
  Subscription,
  SubscriptionStore,
} from '../../shared/notifications/types';

/** A small in-memory subscription store for the delivery tests (filters as docs/spec.md §12 describes). */
export class MemorySubscriptions implements SubscriptionStore {
  readonly items = new Map<string, Subscription>();

  add(subscription: Partial<Subscription> & { id: string; url: string }): Subscription {
    const full: Subscription = {
      events: ['job.statusChanged', 'job.completed'],
      createdAt: '2026-01-01T00:00:00.000Z',
      version: 1,
      ...subscription,
    };
    this.items.set(full.id, full);
    return full;
  }

  create(subscription: Subscription): Promise<void> {
    this.items.set(subscription.id, subscription);
    return Promise.resolve();
  }
  get(id: string): Promise<Subscription | undefined> {
    const s = this.items.get(id);
    return Promise.resolve(s ? structuredClone(s) : undefined);
  }
  list(): Promise<{ items: Subscription[] }> {
    return Promise.resolve({ items: [...this.items.values()] });
  }
  listMatching(event: { type: EventType; kind: string; jobId: string }): Promise<Subscription[]> {
    return Promise.resolve(
      [...this.items.values()].filter(
        (s) =>
          !s.disabled &&
          s.events.includes(event.type) &&
          (!s.kinds || s.kinds.includes(event.kind)) &&
          (!s.jobIds || s.jobIds.includes(event.jobId)),
      ),
    );
  }
  delete(id: string): Promise<boolean> {
    return Promise.resolve(this.items.delete(id));
  }
  rotate(): Promise<Subscription | undefined> {
    return Promise.resolve(undefined);
  }
  disable(id: string, reason: string, now: Date): Promise<void> {
    const s = this.items.get(id);
    if (s) s.disabled = { at: now.toISOString(), reason };
    return Promise.resolve();
  }
}

/** A whsec_ secret per subscription and version, derived from a test root (as the vault-derived ones are). */
export class TestSigningSecrets implements SigningSecrets {
  secretFor(id: string, version = 1): string {
    return `whsec_${createHmac('sha256', 'test-root').update(`${id}.${version}`).digest('base64')}`;
  }
  secretsFor(subscription: Subscription): Promise<string[]> {
    return Promise.resolve([this.secretFor(subscription.id, subscription.version)]);
  }
}

export class MemoryDeliveryLog implements DeliveryLog {
  readonly records = new Map<string, DeliveryRecord>();
  upsert(record: DeliveryRecord): Promise<void> {
    this.records.set(`${record.subscriptionId}|${record.eventId}`, { ...record });
    return Promise.resolve();
  }
  list(subscriptionId: string): Promise<{ items: DeliveryRecord[] }> {
    return Promise.resolve({
      items: [...this.records.values()].filter((r) => r.subscriptionId === subscriptionId),
    });
  }
}
