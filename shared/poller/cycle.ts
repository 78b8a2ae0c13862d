import { setMaxListeners } from 'node:events';
import type { PollHandle, ResourceState } from '../store/types';
import { releaseClaims, reserveSlots, spareSlotSource } from './budget';
import type { PollContext } from './context';
import { describeError, writeMarginMs, type CycleReport } from './deps';
import { ResourceGate } from './gate';
import { handOff } from './handOff';
import { isDueAt, MAX_DUE_TOLERANCE_MS } from './policy';
import { queueOf } from './slots';

/** The budget key of a job whose endpoint is refused (its jobs end in InvalidResponse without a call). */
export const INVALID_RESOURCE_PREFIX = 'invalid:';
/** Most calls in flight to one resource at once. */
export const MAX_IN_FLIGHT_PER_RESOURCE = 16;
/** The hand-off horizon without a setting: the default poll schedule's period (every minute). */
const DEFAULT_HAND_OFF_HORIZON_MS = 60_000;
/** How late after its slot a queue worker may still start its call (the queue delivers with some delay). */
export const HAND_OFF_LATE_MS = 10_000;

/** Why a cycle stopped early. */
class CycleDeadlineError extends Error {
  constructor() {
    super('cycle deadline');
    this.name = 'CycleDeadlineError';
  }
}

/**
 * The poll cycle (docs/spec.md §5): listDue → budget per resource → per-job poll (key → adapter → store).
 */
export async function runCycle(
  ctx: PollContext,
  options: { abortSignal?: AbortSignal } = {},
): Promise<CycleReport> {
  const { store, clock, logger, settings } = ctx.deps;
  const started = clock.now();
  const deadline = started.getTime() + settings.cycleDeadlineMs;
  // The last call starts early enough to end (timeout) and have its outcome stored before the deadline.
  const lastCallAt = deadline - settings.upstreamTimeoutMs - writeMarginMs(settings.cycleDeadlineMs);
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // every in-flight call and slot wait listens to it
  const stop = (): void => controller.abort(options.abortSignal?.reason ?? new Error('cycle stopped'));
  if (options.abortSignal?.aborted) stop();
  options.abortSignal?.addEventListener('abort', stop, { once: true });
  // The deadline runs on the clock, as the slots do.
  const deadlineWatch = new AbortController();
  clock.sleep(settings.cycleDeadlineMs, deadlineWatch.signal).then(
    () => controller.abort(new CycleDeadlineError()),
    () => undefined,
  );
  const signal = controller.signal;
  const report: CycleReport = {
    startedAt: started.toISOString(),
    finishedAt: started.toISOString(),
    polled: 0,
    errors: 0,
    upstreamErrors: 0,
    due: 0,
    skippedPaused: 0,
    deferred: 0,
    lostRaces: 0,
    claimedElsewhere: 0,
    handedOff: 0,
  };
  try {
    const [listed, resources] = await Promise.all([
      // Due within the largest tolerance; each job is then held to its own (docs/spec.md §5).
      store.listDue(new Date(started.getTime() + MAX_DUE_TOLERANCE_MS), {
        limit: settings.cycleMaxJobs,
        abortSignal: signal,
        // One unreadable row or shard never stops the cycle: it is skipped, counted and logged.
        onProblem: ({ where, error }) => {
          report.errors++;
          logger.error('due jobs skipped', { where, error: describeError(error) });
        },
      }),
      // Without the list, each resource's row is read when its slots are reserved.
      store.listResourceStates({ abortSignal: signal }).catch((e: unknown) => {
        if (!signal.aborted) logger.warn('resource states not listed', { error: describeError(e) });
        return undefined;
      }),
    ]);
    const due = listed.filter((handle) => isDueAt(handle.job, started));
    report.due = due.length;
    const groups = new Map<string, PollHandle[]>();
    for (const handle of due) {
      const resource = ctx.resourceOf(handle.job);
      const group = groups.get(resource) ?? [];
      group.push(handle);
      groups.set(resource, group);
    }
    await Promise.all(
      [...groups].map(([resource, handles]) =>
        pollResource(
          ctx,
          resource,
          handles,
          // A resource the list does not hold has no row yet: its first reservation creates it.
          resources ? (resources.get(resource) ?? { resource }) : undefined,
          { started, deadline, lastCallAt },
          signal,
          report,
        ).catch((e: unknown) => {
          // One resource's fault never ends the cycle: its jobs stay due. A stop is not a fault.
          if (signal.aborted) return;
          report.errors++;
          logger.error('resource poll failed', { resource, error: describeError(e) });
        }),
      ),
    );
  } catch (e) {
    report.errors++;
    logger.error('poll cycle failed', { error: describeError(e) });
  } finally {
    deadlineWatch.abort();
    options.abortSignal?.removeEventListener('abort', stop);
    report.finishedAt = clock.now().toISOString();
  }
  try {
    await store.saveCycleSummary({
      startedAt: report.startedAt,
      finishedAt: report.finishedAt,
      polled: report.polled,
      errors: report.errors,
      upstreamErrors: report.upstreamErrors,
    });
  } catch (e) {
    logger.error('cycle summary not saved', { error: describeError(e) });
  }
  const durationMs = Date.parse(report.finishedAt) - started.getTime();
  ctx.deps.telemetry?.cycleFinished({ ...report, durationMs });
  logger.info('poll cycle finished', {
    ...report,
    durationMs,
    ...(signal.aborted ? { stoppedBy: describeError(signal.reason) } : {}),
  });
  return report;
}

/**
 * One resource's due jobs: claim them with slots up to the hand-off horizon (one conditional write), poll those
 * inside the call window, hand the others to the queue with their slot.
 */
async function pollResource(
  ctx: PollContext,
  resource: string,
  handles: PollHandle[],
  known: ResourceState | undefined,
  window: { started: Date; deadline: number; lastCallAt: number },
  signal: AbortSignal,
  report: CycleReport,
): Promise<void> {
  const { store, clock, logger, settings, queue: pollQueue } = ctx.deps;
  const { started, deadline, lastCallAt } = window;
  const budget = ctx.budgetOf(
    resource,
    handles.map((h) => h.job),
  );
  const knownPause = ctx.pauses.get(resource) ?? 0;
  if (knownPause > clock.now().getTime()) {
    report.skippedPaused += handles.length;
    return;
  }
  // With a queue, slots up to the next cycle are reserved: the budget after the call window is not lost.
  // A refused endpoint's jobs end without a call (InvalidResponse): never handed off.
  const horizon =
    pollQueue && !resource.startsWith(INVALID_RESOURCE_PREFIX)
      ? Math.max(lastCallAt, started.getTime() + (settings.handOffHorizonMs ?? DEFAULT_HAND_OFF_HORIZON_MS))
      : lastCallAt;
  const handOffGraceMs =
    settings.upstreamTimeoutMs + writeMarginMs(settings.cycleDeadlineMs) + HAND_OFF_LATE_MS;
  const reservation = await reserveSlots(store, clock, resource, budget, handles.length, horizon, {
    ...(known ? { known } : {}),
    abortSignal: signal,
    claim: {
      jobs: handles.map((h) => ({ jobId: h.job.id, due: dueOf(h) })),
      // Inside the window the cycle holds its jobs until its deadline; a worker until a little after its slot.
      until: (slot) => (slot <= lastCallAt ? deadline : slot + handOffGraceMs),
    },
  });
  ctx.stateSeen(reservation.state);
  report.claimedElsewhere += reservation.heldElsewhere;
  if ('reason' in reservation && reservation.reason === 'paused') {
    report.skippedPaused += handles.length - reservation.heldElsewhere;
    return;
  }
  report.deferred += handles.length - reservation.heldElsewhere - reservation.claimed.length;
  const byId = new Map(handles.map((h) => [h.job.id, h]));
  const inWindow = reservation.claimed.filter((c) => c.slot <= lastCallAt);
  const later = reservation.claimed.filter((c) => c.slot > lastCallAt);
  const handingOff = handOff(
    ctx,
    resource,
    later.map((c) => ({ ...c, handle: byId.get(c.jobId)! })),
    signal,
  ).then(
    ({ sent, failed }) => {
      report.handedOff += sent;
      report.deferred += failed;
      if (failed > 0) report.errors++;
    },
    (e: unknown) => {
      report.errors++;
      logger.error('hand-off failed', { resource, error: describeError(e) });
    },
  );
  const queue = inWindow.map((c) => byId.get(c.jobId)!);
  const slots = queueOf(inWindow.map((c) => c.slot));
  // A 401 retry, or a call too late for its slot, takes another slot of the same budget: a spare one, else a new
  // reservation in this cycle (for the jobs still queued too, when late calls have spent the spare ones).
  const retrySlots = spareSlotSource(slots, {
    store,
    clock,
    resource,
    budget,
    latestSlotAt: lastCallAt,
    abortSignal: signal,
    queued: () => queue.length,
  });
  const gate = new ResourceGate(resource, reservation.state, store, clock, ctx.pauses, budget);
  // Jobs this cycle claimed and could not call (no slot left, too late in the window): deferred, and their claims
  // dropped at the end, so the next cycle of any host takes them at once rather than after this one's deadline.
  const skipped = new Set<string>();
  const worker = async (): Promise<void> => {
    for (let handle = queue.shift(); handle; handle = queue.shift()) {
      if (signal.aborted) return;
      try {
        const result = await ctx.jobs.poll(
          handle,
          resource,
          // Every call takes its slot from the same source: a spare reserved slot, else a new reservation.
          { slots: retrySlots, retrySlots },
          signal,
          gate,
          lastCallAt,
          started,
        );
        if (result.outcome === 'applied') report.polled++;
        if (result.outcome === 'lostRace') report.lostRaces++;
        if (result.outcome === 'skipped') {
          report.deferred++;
          skipped.add(handle.job.id);
        }
        report.errors += result.errors;
        report.upstreamErrors += result.upstreamErrors ?? 0;
      } catch (e) {
        // A job whose poll fails (e.g. its write) stays due and counts as an error; the others go on.
        if (signal.aborted) return;
        report.errors++;
        logger.error('job poll failed', { jobId: handle.job.id, resource, error: describeError(e) });
      }
    }
  };
  const workers = Math.min(MAX_IN_FLIGHT_PER_RESOURCE, queue.length);
  await Promise.all([handingOff, ...Array.from({ length: workers }, worker)]);
  const token = inWindow[0]?.claim.token;
  if (skipped.size > 0 && token !== undefined && !signal.aborted) {
    // Best effort: a claim that cannot be dropped expires at this cycle's deadline.
    await releaseClaims(store, resource, token, skipped, { abortSignal: signal }).catch(() => false);
  }
}

/** The job's nextCheckAt (ms), the due time a claim is on; 0 for a job with none (a refresh of a finished job). */
export function dueOf(handle: PollHandle): number {
  const next = handle.job.state.nextCheckAt === null ? NaN : Date.parse(handle.job.state.nextCheckAt);
  return Number.isFinite(next) ? next : 0;
}
