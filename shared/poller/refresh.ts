import { claimOn, reserveSlots, spareSlotSource } from './budget';
import { dueOf } from './cycle';
import type { PollContext } from './context';
import { JobNotFoundError, ResourceBusyError } from './errors';
import { ResourceGate } from './gate';
import type { Job } from '../model';
import { queueOf } from './slots';

/** Longest a refresh waits for its budget slot before answering 429. */
const REFRESH_MAX_WAIT_MS = 5_000;

/** Polls one job now, through the same budget (docs/spec.md §7 refresh). */
export async function pollNow(
  ctx: PollContext,
  id: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<Job> {
  const { store, clock, settings } = ctx.deps;
  const handle = await store.getForPoll(id, options);
  if (!handle) throw new JobNotFoundError(`Job ${id} does not exist.`);
  const resource = ctx.resourceOf(handle.job);
  const budget = ctx.budgetOf(resource, [handle.job]);
  const knownPause = ctx.pauses.get(resource) ?? 0;
  if (knownPause > clock.now().getTime())
    throw new ResourceBusyError(resource, new Date(knownPause), clock.now());
  // The refresh claims its call like a cycle: a job a cycle or worker holds is not called twice.
  const candidate = { jobId: handle.job.id, due: dueOf(handle) };
  const holdMs = REFRESH_MAX_WAIT_MS + 2 * settings.upstreamTimeoutMs;
  const reservation = await reserveSlots(
    store,
    clock,
    resource,
    budget,
    1,
    clock.now().getTime() + REFRESH_MAX_WAIT_MS,
    {
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      claim: { jobs: [candidate], until: () => clock.now().getTime() + holdMs },
    },
  );
  const slot = reservation.slots[0];
  if (slot === undefined) {
    const held = claimOn(reservation.state, candidate, clock.now().getTime());
    throw new ResourceBusyError(
      resource,
      held ? new Date(held.until) : 'retryAt' in reservation ? reservation.retryAt : clock.now(),
      clock.now(),
    );
  }
  const slots = queueOf([slot]);
  // A 401 retry, or a call too late for its slot, takes another slot of the same budget.
  const retrySlots = spareSlotSource(slots, {
    store,
    clock,
    resource,
    budget,
    latestSlotAt: clock.now().getTime() + REFRESH_MAX_WAIT_MS,
  });
  const signal = AbortSignal.any([
    ...(options.abortSignal ? [options.abortSignal] : []),
    AbortSignal.timeout(holdMs),
  ]);
  const gate = new ResourceGate(resource, reservation.state, store, clock, ctx.pauses, budget);
  const result = await ctx.jobs.poll(
    handle,
    resource,
    { slots, retrySlots },
    signal,
    gate,
    Number.POSITIVE_INFINITY,
  );
  if (result.outcome === 'deleted') throw new JobNotFoundError(`Job ${id} does not exist.`);
  if (result.job) return result.job;
  if (result.outcome === 'aborted' || result.outcome === 'skipped') {
    const pausedUntil = await gate.pausedNow(signal).catch(() => undefined);
    if (pausedUntil !== undefined) throw new ResourceBusyError(resource, new Date(pausedUntil), clock.now());
  }
  const latest = await store.get(id, options);
  if (!latest) throw new JobNotFoundError(`Job ${id} does not exist.`);
  return latest;
}
