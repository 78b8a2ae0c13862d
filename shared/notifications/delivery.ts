import type { Clock, RandomSource } from '../clock';
import type { Logger } from '../logger';
import type { OutboxEntry } from '../store/outbox';
import type { Telemetry } from '../telemetry';
import { eventBody, eventsFor } from './events';
import type { LaneEntry, TableLaneStore } from './lanes';
import type { NotificationMessage, NotificationQueue } from './messages';
import { retryDelayMs } from './retrySchedule';
import type { DeliveryLog, JobEvent, SigningSecrets, Subscription, SubscriptionStore } from './types';
import { sign } from './signature';
import type { SendResult, SendWebhook } from './webhookSender';

/** The outbox as the fan-out sees it (the store writes it with each transition). */
export interface OutboxReader {
  listForJob(jobId: string, options?: { abortSignal?: AbortSignal }): Promise<OutboxEntry[]>;
  remove(entry: OutboxEntry, options?: { abortSignal?: AbortSignal }): Promise<void>;
  listJobsWaitingSince(before: Date, options?: { abortSignal?: AbortSignal }): Promise<string[]>;
}

/** Event Grid (or any second channel) gets every event once per fan-out. */
export interface EventPublisher {
  publish(events: JobEvent[], options?: { abortSignal?: AbortSignal }): Promise<void>;
}

export interface NotificationDeps {
  outbox: OutboxReader;
  lanes: Pick<TableLaneStore, 'add' | 'list' | 'update' | 'remove' | 'listOverdue'>;
  subscriptions: SubscriptionStore;
  secrets: SigningSecrets;
  deliveryLog: DeliveryLog;
  queue: NotificationQueue;
  send: SendWebhook;
  eventGrid?: EventPublisher;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  telemetry?: Telemetry;
}

/** An attempt's claim lasts the 10 s timeout and a margin; a worker that dies leaves it to expire. */
const LEASE_MS = 20_000;
/** A retry message may show up to a second early (visibility is in whole seconds). */
const EARLY_TOLERANCE_MS = 1_000;
/** Done rows are kept this long (a second fan-out of the same transition finds them). */
const KEEP_DONE_MS = 24 * 3_600_000;
/** The sweep hands on outbox rows and lanes left waiting this long (a queue send that failed). */
export const SWEEP_GRACE_MS = 60_000;

/**
 * Notifications (docs/spec.md §12): stored transitions → events → one lane per subscription and job → signed
 * deliveries with retries. Every step is idempotent (queues deliver at least once) and keyed by the event id.
 */
export class NotificationService {
  /** The fan-out's `pending` log writes still running, by `{subscription}|{event}`: an outcome waits for its own. */
  private readonly pendingLogs = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: NotificationDeps) {}

  withLogger(logger: Logger): NotificationService {
    return new NotificationService({ ...this.deps, logger });
  }

  /** The poller stored a transition of `jobId`: its event waits in the outbox; ask for the fan-out. Never throws. */
  async transitionStored(jobId: string): Promise<void> {
    try {
      await this.deps.queue.send({ v: 1, type: 'transition', jobId });
    } catch (error) {
      this.deps.logger.warn('notification not queued; the sweep hands it on', {
        jobId,
        error: describe(error),
      });
    }
  }

  async handle(message: NotificationMessage): Promise<void> {
    if (message.type === 'transition') await this.fanOut(message.jobId);
    else await this.deliverLane(message.subscriptionId, message.jobId);
  }

  /**
   * Hands on the job's stored transitions, oldest first: Event Grid, then one lane row per matching subscription
   * (a second fan-out adds nothing). Then every touched lane is delivered right here, all at once, as a `delivery`
   * message would deliver it (same claim, same order; retries by delayed messages): one queue hop less per
   * delivery, and a slow receiver holds only its own lane. The outbox rows go last, so a fan-out that dies on the
   * way is handed on again and finds its lanes (done rows deliver nothing twice).
   */
  async fanOut(jobId: string): Promise<void> {
    const { outbox, lanes, subscriptions, deliveryLog, eventGrid } = this.deps;
    const entries = await outbox.listForJob(jobId);
    const touched = new Map<string, Subscription>();
    // The `pending` records are written while the first attempts go (an attempt's outcome waits for its own).
    const logged: Promise<unknown>[] = [];
    const keys: string[] = [];
    try {
      for (const entry of entries) {
        const events = eventsFor(entry);
        await eventGrid?.publish(events);
        for (const event of events) {
          const matching = await subscriptions.listMatching({
            type: event.type,
            kind: event.data.kind,
            jobId,
          });
          await Promise.all(
            matching.map(async (sub) => {
              touched.set(sub.id, sub);
              if (!(await lanes.add(sub.id, event))) return;
              const write = deliveryLog.upsert({
                subscriptionId: sub.id,
                eventId: event.id,
                type: event.type,
                jobId,
                status: 'pending',
                attempts: 0,
              });
              const key = `${sub.id}|${event.id}`;
              this.pendingLogs.set(
                key,
                write.catch(() => undefined),
              );
              logged.push(write);
              keys.push(key);
            }),
          );
        }
      }
      // Every lane is tried even when one fails (a Table fault); the message is then retried as a whole.
      const outcomes = await Promise.allSettled([
        ...logged,
        ...[...touched.values()].map((sub) => this.deliverLane(sub.id, jobId, sub)),
      ]);
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      for (const key of keys) this.pendingLogs.delete(key);
    }
    for (const entry of entries) await outbox.remove(entry);
  }

  /**
   * Delivers the lane's events in order until one must wait (a retry) or none is left. `known` is the
   * subscription as the fan-out just read it (saves one read for the lane's first event).
   */
  async deliverLane(subscriptionId: string, jobId: string, known?: Subscription): Promise<void> {
    const { lanes, subscriptions, clock } = this.deps;
    let fresh = known;
    for (;;) {
      const rows = await lanes.list(subscriptionId, jobId);
      const now = clock.now();
      for (const row of rows) {
        if (row.status !== 'pending' && row.doneAt && Date.parse(row.doneAt) < now.getTime() - KEEP_DONE_MS)
          await lanes.remove(row);
      }
      const head = rows.find((r) => r.status === 'pending');
      if (!head) return;
      const sub = fresh ?? (await subscriptions.get(subscriptionId));
      fresh = undefined;
      if (!sub || sub.disabled) {
        await this.finish(head, 'failed', undefined, sub ? 'subscription disabled' : 'subscription deleted');
        continue;
      }
      if (head.leaseUntil && Date.parse(head.leaseUntil) > now.getTime()) return; // another worker is on it
      const due = head.nextAttemptAt ? Date.parse(head.nextAttemptAt) : 0;
      if (due > now.getTime() + EARLY_TOLERANCE_MS) {
        // Early (a duplicate message, or one resent after a failed send): come back at the attempt's time.
        await this.deps.queue.send(
          { v: 1, type: 'delivery', subscriptionId, jobId },
          { delayMs: due - now.getTime() },
        );
        return;
      }
      const claimed = await lanes.update({
        ...head,
        attempts: head.attempts + 1,
        leaseUntil: new Date(now.getTime() + LEASE_MS).toISOString(),
        lastAttemptAt: now.toISOString(),
      });
      if (!claimed) return; // another worker claimed it first
      const result = await this.attempt(sub, claimed.event);
      if (!(await this.settle(claimed, sub, result))) return;
    }
  }

  private async attempt(sub: Subscription, event: JobEvent): Promise<SendResult> {
    const now = this.deps.clock.now();
    const secrets = await this.deps.secrets.secretsFor(sub, now);
    const body = eventBody(event);
    const timestamp = Math.floor(now.getTime() / 1000);
    return this.deps.send(sub.url, {
      body,
      headers: {
        'webhook-id': event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': sign(secrets, event.id, timestamp, body),
      },
    });
  }

  /** Records an attempt's outcome; true when the lane may go on with its next event now. */
  private async settle(row: LaneEntry, sub: Subscription, result: SendResult): Promise<boolean> {
    const { logger, telemetry, clock, queue } = this.deps;
    const httpStatus = 'status' in result ? result.status : undefined;
    const base = { subscriptionId: sub.id, eventId: row.event.id, jobId: row.event.data.id };
    if (httpStatus !== undefined && httpStatus >= 200 && httpStatus < 300) {
      await this.finish(row, 'delivered', httpStatus);
      return true;
    }
    if (httpStatus === 410) {
      await this.deps.subscriptions.disable(sub.id, 'The receiver answered 410 Gone', clock.now());
      logger.warn('webhook subscription disabled: 410 Gone', base);
      await this.finish(row, 'failed', httpStatus);
      return true;
    }
    const retryAfterMs =
      'status' in result && (httpStatus === 429 || httpStatus === 503) ? result.retryAfterMs : undefined;
    const delay = retryDelayMs(row.attempts, this.deps.random, retryAfterMs);
    const reason = 'error' in result ? `${result.error}: ${result.message}` : `HTTP ${httpStatus}`;
    if (delay === undefined) {
      logger.warn('webhook delivery failed after its last retry', {
        ...base,
        attempts: row.attempts,
        reason,
      });
      await this.finish(row, 'failed', httpStatus);
      return true;
    }
    const nextAttemptAt = new Date(clock.now().getTime() + delay).toISOString();
    const rest = without(row, 'leaseUntil');
    const updated = await this.deps.lanes.update({
      ...rest,
      nextAttemptAt,
      ...(httpStatus !== undefined ? { lastHttpStatus: httpStatus } : {}),
    });
    if (!updated) return false;
    await this.log(row, 'pending', httpStatus);
    telemetry?.webhookDelivered({ outcome: 'retried' });
    logger.info('webhook delivery will be retried', {
      ...base,
      attempts: row.attempts,
      nextAttemptAt,
      reason,
    });
    await queue.send(
      { v: 1, type: 'delivery', subscriptionId: sub.id, jobId: base.jobId },
      { delayMs: delay },
    );
    return false;
  }

  private async finish(
    row: LaneEntry,
    status: 'delivered' | 'failed',
    httpStatus: number | undefined,
    reason?: string,
  ): Promise<void> {
    const rest = without(without(row, 'leaseUntil'), 'nextAttemptAt');
    const done = await this.deps.lanes.update({
      ...rest,
      status,
      doneAt: this.deps.clock.now().toISOString(),
      ...(httpStatus !== undefined ? { lastHttpStatus: httpStatus } : {}),
    });
    if (!done) return;
    await this.log(row, status, httpStatus);
    this.deps.telemetry?.webhookDelivered({ outcome: status });
    if (reason) this.deps.logger.warn('webhook event not delivered', { eventId: row.event.id, reason });
  }

  private async log(
    row: LaneEntry,
    status: 'pending' | 'delivered' | 'failed',
    httpStatus?: number,
  ): Promise<void> {
    await this.pendingLogs.get(`${row.subscriptionId}|${row.event.id}`);
    await this.deps.deliveryLog.upsert({
      subscriptionId: row.subscriptionId,
      eventId: row.event.id,
      type: row.event.type,
      jobId: row.event.data.id,
      status,
      attempts: row.attempts,
      ...(row.lastAttemptAt ? { lastAttemptAt: row.lastAttemptAt } : {}),
      ...(httpStatus !== undefined ? { lastHttpStatus: httpStatus } : {}),
    });
  }

  /** Hands on what a failed queue send left behind: outbox rows and lanes waiting past the grace period. */
  async sweep(): Promise<{ jobs: number; lanes: number }> {
    const { outbox, lanes, clock, queue } = this.deps;
    const now = clock.now();
    const jobs = await outbox.listJobsWaitingSince(new Date(now.getTime() - SWEEP_GRACE_MS));
    for (const jobId of jobs) await queue.send({ v: 1, type: 'transition', jobId });
    const overdue = await lanes.listOverdue(now, SWEEP_GRACE_MS);
    for (const lane of overdue) await queue.send({ v: 1, type: 'delivery', ...lane });
    return { jobs: jobs.length, lanes: overdue.length };
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function without<T extends object, K extends keyof T>(value: T, key: K): Omit<T, K> {
  const copy = { ...value };
  delete copy[key];
  return copy;
}
