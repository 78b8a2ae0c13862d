import type { JobStatus } from '../model';

/** Event types (docs/spec.md §12). A subscription without `events` receives both. */
export const EVENT_TYPES = ['job.statusChanged', 'job.completed'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * One event: `{type, timestamp, data}`; `data` is the status object (docs/spec.md §7) plus `previousStatus`.
 * `id` is stable across retries (the Standard Webhooks `webhook-id`), derived from the job and its transition.
 */
export interface JobEvent {
  id: string;
  type: EventType;
  /** ISO 8601 UTC: when the transition was stored. */
  timestamp: string;
  data: Record<string, unknown> & { id: string; kind: string; status: JobStatus; previousStatus: JobStatus };
}

/** A webhook subscription as stored (no secret: signing secrets are derived, never stored). */
export interface Subscription {
  id: string;
  url: string;
  events: EventType[];
  kinds?: string[];
  jobIds?: string[];
  description?: string;
  createdAt: string;
  /** Signing secret version: the secret is derived from the vault secret, `id` and `version`. */
  version: number;
  /** The version before the last rotation and until when it still signs (24 h after the rotation). */
  previousVersion?: { version: number; validUntil: string };
  /** Set on 410 Gone: no further deliveries. */
  disabled?: { at: string; reason: string };
}

export interface SubscriptionStore {
  create(subscription: Subscription, options?: { abortSignal?: AbortSignal }): Promise<void>;
  get(id: string, options?: { abortSignal?: AbortSignal }): Promise<Subscription | undefined>;
  list(options: {
    top: number;
    continuationToken?: string;
    abortSignal?: AbortSignal;
  }): Promise<{ items: Subscription[]; continuationToken?: string }>;
  /** Subscriptions (enabled) that want this event: type, kind and job filters applied. */
  listMatching(
    event: { type: EventType; kind: string; jobId: string },
    options?: { abortSignal?: AbortSignal },
  ): Promise<Subscription[]>;
  /** Returns false when it did not exist. */
  delete(id: string, options?: { abortSignal?: AbortSignal }): Promise<boolean>;
  /** Bumps `version`, keeps the old one valid for 24 h from `now`. undefined when it does not exist. */
  rotate(id: string, now: Date, options?: { abortSignal?: AbortSignal }): Promise<Subscription | undefined>;
  disable(id: string, reason: string, now: Date, options?: { abortSignal?: AbortSignal }): Promise<void>;
}

/** The `whsec_…` secrets that sign for a subscription now (the current one first; two during a rotation). */
export interface SigningSecrets {
  secretsFor(
    subscription: Subscription,
    now: Date,
    options?: { abortSignal?: AbortSignal },
  ): Promise<string[]>;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event's delivery to one subscription (docs/spec.md §12 deliveries). */
export interface DeliveryRecord {
  subscriptionId: string;
  eventId: string;
  type: EventType;
  jobId: string;
  status: DeliveryStatus;
  attempts: number;
  lastAttemptAt?: string;
  lastHttpStatus?: number;
}

export interface DeliveryLog {
  /** Insert or replace the record of (subscriptionId, eventId). */
  upsert(record: DeliveryRecord, options?: { abortSignal?: AbortSignal }): Promise<void>;
  /** Newest first; failed ones are kept 7 days. */
  list(
    subscriptionId: string,
    options: { top: number; continuationToken?: string; abortSignal?: AbortSignal },
  ): Promise<{ items: DeliveryRecord[]; continuationToken?: string }>;
  /** Deletes every record of a subscription (when the subscription is deleted). */
  deleteAll?(subscriptionId: string, options?: { abortSignal?: AbortSignal }): Promise<void>;
}

/** A subscription id: 32 lowercase hex characters (random). */
export const SUBSCRIPTION_ID_PATTERN = /^[0-9a-f]{32}$/;

/** How long the secret of the version before a rotation still signs (docs/spec.md §7: 24 h). */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** How long the delivery log keeps a record (docs/spec.md §7: failed ones 7 days). */
export const DELIVERY_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** What a table-backed store adds: creating its table (idempotent), as the job store's `initialize` does. */
export interface InitializableStore {
  initialize(options?: { abortSignal?: AbortSignal }): Promise<void>;
}
