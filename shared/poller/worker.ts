import { JOB_ID_PATTERN } from '../model';
import type { PollMessage } from '../queue/types';
import { lateAllowanceMs, reserveSlots, spacingMs } from './budget';
import type { PollContext } from './context';
import { describeError, writeMarginMs } from './deps';
import { decodeClaim } from './handOff';
import { queueOf, type SlotSource } from './slots';

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

function parseMessage(message: unknown): PollMessage | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as Record<string, unknown>;
  const { v, jobId, claim, slotAt, resource } = m;
  if (v !== 1 || typeof jobId !== 'string' || !JOB_ID_PATTERN.test(jobId)) return undefined;
  if (typeof claim !== 'string' || typeof slotAt !== 'string' || typeof resource !== 'string')
    return undefined;
  if (!Number.isFinite(Date.parse(slotAt)) || resource.length > 300) return undefined;
  return { v, jobId, claim, slotAt, resource };
}

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
  const parsed = parseMessage(message);
  const claim = parsed ? decodeClaim(parsed.jobId, parsed.claim) : undefined;
  if (!parsed || !claim) {
    logger.warn('polls message ignored: not a poll message', {});
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
  const handle = await store.getForPoll(parsed.jobId, options);
  const due = handle?.job.state.nextCheckAt ? Date.parse(handle.job.state.nextCheckAt) : NaN;
  if (!handle || due !== claim.due) {
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
  if (clock.now().getTime() > slotAt + lateAllowanceMs(budget)) {
    // Too late for the slot to keep the budget: take the first free one while the claim holds.
    slot = (await reserveSlots(store, clock, resource, budget, 1, lastCallAt, { abortSignal: signal }))
      .slots[0];
    if (slot === undefined) {
      logger.warn('polls message came too late for its slot and no other was free', {
        ...context,
        lateMs: clock.now().getTime() - slotAt,
      });
      return 'skipped';
    }
  }
  const slots = queueOf([slot]);
  const retrySlots: SlotSource = async (notBefore) =>
    (await slots(notBefore)) ??
    (
      await reserveSlots(store, clock, resource, budget, 1, lastCallAt, {
        abortSignal: signal,
        ...(notBefore !== undefined ? { notBefore } : {}),
      })
    ).slots[0];
  const gate = ctx.gateOf(resource, spacingMs(budget));
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
