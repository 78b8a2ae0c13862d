import { setMaxListeners } from 'node:events';
import type { PollHandle, ResourceState } from '../store/types';
import { reserveSlots, spacingMs } from './budget';
import type { PollContext } from './context';
import { describeError, writeMarginMs, type CycleReport } from './deps';
import { ResourceGate } from './gate';
import { isDueAt, MAX_DUE_TOLERANCE_MS } from './policy';
import { queueOf, type SlotSource } from './slots';

/** Most calls in flight to one resource at once. */
export const MAX_IN_FLIGHT_PER_RESOURCE = 16;

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
        return new Map<string, ResourceState>();
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
          resources.get(resource),
          lastCallAt,
          started,
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

async function pollResource(
  ctx: PollContext,
  resource: string,
  handles: PollHandle[],
  known: ResourceState | undefined,
  lastCallAt: number,
  cycleStartedAt: Date,
  signal: AbortSignal,
  report: CycleReport,
): Promise<void> {
  const { store, clock, logger } = ctx.deps;
  const budget = ctx.budgetOf(
    resource,
    handles.map((h) => h.job),
  );
  const knownPause = ctx.pauses.get(resource) ?? 0;
  if (knownPause > clock.now().getTime()) {
    report.skippedPaused += handles.length;
    return;
  }
  const reservation = await reserveSlots(store, clock, resource, budget, handles.length, lastCallAt, {
    ...(known ? { known } : {}),
    abortSignal: signal,
  });
  if ('reason' in reservation && reservation.reason === 'paused') {
    report.skippedPaused += handles.length;
    return;
  }
  report.deferred += Math.max(0, handles.length - reservation.slots.length);
  const queue = handles.slice(0, reservation.slots.length);
  const slots = queueOf(reservation.slots);
  // A 401 retry takes one more slot of the same budget: a spare one, else a new reservation in this cycle.
  const retrySlots: SlotSource = async (notBefore) =>
    (await slots(notBefore)) ??
    (
      await reserveSlots(store, clock, resource, budget, 1, lastCallAt, {
        abortSignal: signal,
        ...(notBefore !== undefined ? { notBefore } : {}),
      })
    ).slots[0];
  const gate = new ResourceGate(resource, reservation.state, store, clock, ctx.pauses, spacingMs(budget));
  const worker = async (): Promise<void> => {
    for (let handle = queue.shift(); handle; handle = queue.shift()) {
      if (signal.aborted) return;
      try {
        const result = await ctx.jobs.poll(
          handle,
          resource,
          { slots, retrySlots },
          signal,
          gate,
          lastCallAt,
          cycleStartedAt,
        );
        if (result.outcome === 'applied') report.polled++;
        if (result.outcome === 'lostRace') report.lostRaces++;
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
  await Promise.all(Array.from({ length: workers }, worker));
}
