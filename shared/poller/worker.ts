import { JOB_ID_PATTERN } from '../model';
import { parsePollMessage } from '../queue/message';
import type { PollMessage } from '../queue/types';
import { lateAllowanceMs, reserveSlots, spareSlotSource } from './budget';
import type { PollContext } from './context';
import { describeError, writeMarginMs } from './deps';
import { decodeClaim } from './handOff';
import { queueOf } from './slots';
import type { Logger } from '../logger';
import { handleFromSnapshot } from '../store/snapshot';
import type { PollHandle } from '../store/types';

/** What a queue worker did with one `polls` message. */
export type QueuedOutcome =
  /** The job was polled and its outcome stored. */
  | 'polled'
  /** Nothing to do: the claim is gone (the job was polled, rescheduled or deleted), or it expired. */
  | 'claimGone'
  /** Not a message of this app (logged; retrying would not help). */
  | 'invalid'
  /** No call made: the resource is paused, or no slot was left in time; the job is due again when the claim expires. */
  | 'skipped'
  /** The call was made, but another writer stored the job first (not an error). */
  | 'lostRace';

/**
 * Polls the job of one `polls` message at its slot, through the same per-job poll as the cycle (docs/spec.md §5).
 * At-least-once delivery is harmless: a message whose claim is gone does nothing. A fault that should be retried
 * (the outcome could not be stored) is thrown: the host delivers the message again, and after five failures moves
 * it to `polls-poison`; the job is due again when its claim expires.
 */
export async function pollQueued(
  ctx: PollContext,
  message: unknown,
  options: { dequeueCount?: number; abortSignal?: AbortSignal } = {},
): Promise<QueuedOutcome> {
  const { store, clock, logger, settings } = ctx.deps;
  let parsed: PollMessage;
  try {
    parsed = parsePollMessage(message);
  } catch (e) {
    logger.warn('polls message ignored: not a poll message', { error: describeError(e) });
    return 'invalid';
  }
  const claim = JOB_ID_PATTERN.test(parsed.jobId) ? decodeClaim(parsed.jobId, parsed.claim) : undefined;
  if (!claim) {
    logger.warn('polls message ignored: not a claim of this app', { jobId: parsed.jobId.slice(0, 64) });
    return 'invalid';
  }
  const slotAt = Date.parse(parsed.slotAt);
  const context = { jobId: parsed.jobId, resource: parsed.resource, dequeueCount: options.dequeueCount };
  // The call must end and be stored while the claim holds: no other holder can have the job before then.
  const lastCallAt = claim.until - settings.upstreamTimeoutMs - writeMarginMs(settings.cycleDeadlineMs);
  if (clock.now().getTime() > lastCallAt) {
    logger.info('polls message ignored: its claim expired', context);
    return 'claimGone';
  }
  // On its first delivery, the job as the cycle read it (no read here): while the claim holds, only this message
  // polls the job. A message delivered again (its first delivery may have polled the job already), or one without
  // the job (too large to carry it), reads the job: once it was polled, its due time has moved and the message
  // does nothing.
  const firstDelivery = (options.dequeueCount ?? 1) <= 1;
  const handle =
    (firstDelivery ? snapshotOf(parsed, logger, context) : undefined) ??
    (await store.getForPoll(parsed.jobId, options));
  const due = handle?.job.state.nextCheckAt ? Date.parse(handle.job.state.nextCheckAt) : NaN;
  if (!handle || handle.job.id !== parsed.jobId || due !== claim.due) {
    logger.info('polls message ignored: the job was polled, rescheduled or deleted', context);
    return 'claimGone';
  }
  const resource = ctx.resourceOf(handle.job);
  const budget = ctx.budgetOf(resource, [handle.job]);
  const signal = AbortSignal.any([
    ...(options.abortSignal ? [options.abortSignal] : []),
    AbortSignal.timeout(Math.max(0, lastCallAt - clock.now().getTime()) + 2 * settings.upstreamTimeoutMs),
  ]);
  // The message may come a little before its slot (whole-second visibility): wait for it.
  await clock.sleep(slotAt - clock.now().getTime(), signal);
  let slot: number | undefined = slotAt;
  // A message delivered again may have had its call made on its slot already (its outcome then failed to store).
  const redelivered = (options.dequeueCount ?? 1) > 1;
  if (redelivered || clock.now().getTime() > slotAt + lateAllowanceMs(budget)) {
    // Too late for the slot to keep the budget (or the slot is spent): take the first free one while the claim
    // holds.
    const reservation = await reserveSlots(store, clock, resource, budget, 1, lastCallAt, {
      abortSignal: signal,
    });
    ctx.stateSeen(reservation.state);
    slot = reservation.slots[0];
    if (slot === undefined) {
      logger.warn('polls message came too late for its slot and no other was free', {
        ...context,
        lateMs: clock.now().getTime() - slotAt,
      });
      return 'skipped';
    }
  }
  const slots = queueOf([slot]);
  const retrySlots = spareSlotSource(slots, {
    store,
    clock,
    resource,
    budget,
    latestSlotAt: lastCallAt,
    abortSignal: signal,
  });
  const gate = ctx.gateOf(resource, budget);
  let result;
  try {
    result = await ctx.jobs.poll(
      handle,
      resource,
      { slots, retrySlots },
      signal,
      gate,
      lastCallAt,
      new Date(slotAt),
    );
  } catch (e) {
    logger.error('queued poll failed: the message will be retried', { ...context, error: describeError(e) });
    throw e;
  }
  if (result.outcome === 'applied') return 'polled';
  if (result.outcome === 'lostRace') return 'lostRace';
  if (result.outcome === 'deleted') return 'claimGone';
  return 'skipped';
}

/** The job the message carries, or undefined (none, or not a valid job: then the job is read). */
function snapshotOf(
  message: PollMessage,
  logger: Logger,
  context: Record<string, unknown>,
): PollHandle | undefined {
  if (message.job === undefined) return undefined;
  try {
    return handleFromSnapshot(message.job, `polls message for job ${message.jobId}`);
  } catch (e) {
    logger.warn('polls message carries an invalid job: the job is read', {
      ...context,
      error: describeError(e),
    });
    return undefined;
  }
}
