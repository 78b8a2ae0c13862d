import { setMaxListeners } from 'node:events';
import type { Clock, RandomSource } from '../clock';
import { SecretUnavailableError, StatusCacheError, UpstreamCallError } from '../errors';
import type { Logger } from '../logger';
import type { Job, JobState, PollOutcome } from '../model';
import type { CycleSummary, JobStore, PollHandle, ResourceState } from '../store/types';
import { checkUpstreamOrigin } from '../upstream/allowList';
import type { JobAdapter, RateBudget, UpstreamResponse } from '../upstream/types';
import { budgetFor, pauseResource, reserveSlots } from './budget';
import { nextTransition } from './policy';

export interface KeyProvider {
  getKey(name: string, options?: { bypassCache?: boolean; abortSignal?: AbortSignal }): Promise<string>;
}

export type FetchUpstream = (
  url: string,
  options: { headers: Record<string, string>; timeoutMs: number; abortSignal?: AbortSignal },
) => Promise<UpstreamResponse>;

export interface PollerDeps {
  store: JobStore;
  keys: KeyProvider;
  getAdapter: (kind: string) => JobAdapter | undefined;
  fetchUpstream: FetchUpstream;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  settings: {
    allowedUpstreamOrigins: readonly string[];
    rateLimits: ReadonlyMap<string, RateBudget>;
    upstreamTimeoutMs: number;
    cycleDeadlineMs: number;
    cycleMaxJobs: number;
    idleIntervalMs: number;
  };
}

export interface CycleReport extends CycleSummary {
  due: number;
  skippedPaused: number;
  deferred: number;
  lostRaces: number;
}

/** The resource of a job is paused or out of budget: the caller may come back at `retryAt`. */
export class ResourceBusyError extends StatusCacheError {
  readonly retryAfterSeconds: number;
  constructor(
    readonly resource: string,
    readonly retryAt: Date,
    now: Date,
  ) {
    super(
      `The upstream resource ${resource} is paused or at its call budget until ${retryAt.toISOString()}.`,
    );
    this.retryAfterSeconds = Math.max(1, Math.ceil((retryAt.getTime() - now.getTime()) / 1000));
  }
}

/** The job does not exist (any more). */
export class JobNotFoundError extends StatusCacheError {}

/** Longest a refresh waits for its budget slot before answering 429. */
const REFRESH_MAX_WAIT_MS = 5_000;
/** Most calls in flight to one resource at once. */
const MAX_IN_FLIGHT_PER_RESOURCE = 16;

interface PollResult {
  outcome: 'applied' | 'lostRace' | 'deleted' | 'aborted';
  job?: Job;
  isError: boolean;
}

/**
 * The poll cycle: listDue → budget per resource → key → adapter → store.applyState (SPEC §5).
 * The only place where store, secrets and upstream meet.
 */
export class Poller {
  constructor(private readonly deps: PollerDeps) {}

  /** The same poller, logging to `logger` (an invocation context). */
  withLogger(logger: Logger): Poller {
    return new Poller({ ...this.deps, logger });
  }

  async runCycle(options: { abortSignal?: AbortSignal } = {}): Promise<CycleReport> {
    const { store, clock, logger, settings } = this.deps;
    const started = clock.now();
    const deadline = started.getTime() + settings.cycleDeadlineMs;
    const controller = new AbortController();
    setMaxListeners(0, controller.signal); // every in-flight call and slot wait listens to it
    const stop = (): void => controller.abort(options.abortSignal?.reason ?? new Error('cycle deadline'));
    options.abortSignal?.addEventListener('abort', stop, { once: true });
    const deadlineTimer = setTimeout(stop, settings.cycleDeadlineMs);
    const signal = controller.signal;
    const report: CycleReport = {
      startedAt: started.toISOString(),
      finishedAt: started.toISOString(),
      polled: 0,
      errors: 0,
      due: 0,
      skippedPaused: 0,
      deferred: 0,
      lostRaces: 0,
    };
    try {
      const [due, resources] = await Promise.all([
        store.listDue(started, { limit: settings.cycleMaxJobs, abortSignal: signal }),
        store.listResourceStates({ abortSignal: signal }),
      ]);
      report.due = due.length;
      const groups = new Map<string, PollHandle[]>();
      for (const handle of due) {
        const resource = this.resourceOf(handle.job);
        const group = groups.get(resource) ?? [];
        group.push(handle);
        groups.set(resource, group);
      }
      await Promise.all(
        [...groups].map(([resource, handles]) =>
          this.pollResource(resource, handles, resources.get(resource), deadline, signal, report).catch(
            (e: unknown) => {
              // One resource's fault never ends the cycle: its jobs stay due.
              report.errors++;
              if (!signal.aborted) logger.error('resource poll failed', { resource, error: describe(e) });
            },
          ),
        ),
      );
    } catch (e) {
      report.errors++;
      logger.error('poll cycle failed', { error: describe(e) });
    } finally {
      clearTimeout(deadlineTimer);
      options.abortSignal?.removeEventListener('abort', stop);
      report.finishedAt = clock.now().toISOString();
    }
    try {
      await store.saveCycleSummary({
        startedAt: report.startedAt,
        finishedAt: report.finishedAt,
        polled: report.polled,
        errors: report.errors,
      });
    } catch (e) {
      logger.error('cycle summary not saved', { error: describe(e) });
    }
    logger.info('poll cycle finished', {
      ...report,
      durationMs: Date.parse(report.finishedAt) - started.getTime(),
    });
    return report;
  }

  /** Polls one job now, through the same budget (SPEC §7 refresh). */
  async pollNow(id: string, options: { abortSignal?: AbortSignal } = {}): Promise<Job> {
    const { store, clock, settings } = this.deps;
    const handle = await store.getForPoll(id, options);
    if (!handle) throw new JobNotFoundError(`Job ${id} does not exist.`);
    const resource = this.resourceOf(handle.job);
    const budget = this.budgetOf(resource, [handle.job]);
    const reservation = await reserveSlots(
      store,
      clock,
      resource,
      budget,
      1,
      clock.now().getTime() + REFRESH_MAX_WAIT_MS,
      undefined,
      options.abortSignal,
    );
    const slot = reservation.slots[0];
    if (slot === undefined)
      throw new ResourceBusyError(
        resource,
        'retryAt' in reservation ? reservation.retryAt : clock.now(),
        clock.now(),
      );
    const reserved = [slot];
    // A 401 retry takes one more slot of the same budget.
    const slots: SlotSource = async () =>
      reserved.shift() ??
      (await reserveSlots(store, clock, resource, budget, 1, clock.now().getTime() + REFRESH_MAX_WAIT_MS))
        .slots[0];
    const signal = AbortSignal.any([
      ...(options.abortSignal ? [options.abortSignal] : []),
      AbortSignal.timeout(REFRESH_MAX_WAIT_MS + 2 * settings.upstreamTimeoutMs),
    ]);
    const result = await this.pollJob(handle, resource, slots, signal);
    if (result.outcome === 'deleted') throw new JobNotFoundError(`Job ${id} does not exist.`);
    if (result.job) return result.job;
    const latest = await store.get(id, options);
    if (!latest) throw new JobNotFoundError(`Job ${id} does not exist.`);
    return latest;
  }

  private resourceOf(job: Job): string {
    const check = checkUpstreamOrigin(job.endpoint, this.deps.settings.allowedUpstreamOrigins);
    return check.ok ? check.resource : `invalid:${job.endpoint}`;
  }

  private budgetOf(resource: string, jobs: readonly Job[]): RateBudget {
    const defaults = [...new Set(jobs.map((j) => j.kind))]
      .map((kind) => this.deps.getAdapter(kind)?.defaultBudget)
      .filter((b): b is RateBudget => b !== undefined);
    return budgetFor(
      resource,
      this.deps.settings.rateLimits,
      defaults.length ? defaults : [{ calls: 1, periodMs: 60_000 }],
    );
  }

  private async pollResource(
    resource: string,
    handles: PollHandle[],
    known: ResourceState | undefined,
    deadline: number,
    signal: AbortSignal,
    report: CycleReport,
  ): Promise<void> {
    const { store, clock, settings } = this.deps;
    const budget = this.budgetOf(
      resource,
      handles.map((h) => h.job),
    );
    const reservation = await reserveSlots(
      store,
      clock,
      resource,
      budget,
      handles.length,
      deadline - settings.upstreamTimeoutMs,
      known,
      signal,
    );
    if ('reason' in reservation && reservation.reason === 'paused') {
      report.skippedPaused += handles.length;
      return;
    }
    const reserved = [...reservation.slots];
    report.deferred += Math.max(0, handles.length - reserved.length);
    const queue = handles.slice(0, reserved.length);
    const slots: SlotSource = () => Promise.resolve(reserved.shift());
    const paused = { value: false };
    const worker = async (): Promise<void> => {
      for (let handle = queue.shift(); handle; handle = queue.shift()) {
        if (paused.value || signal.aborted) return;
        const result = await this.pollJob(handle, resource, slots, signal, paused);
        if (result.outcome === 'applied') report.polled++;
        if (result.outcome === 'lostRace') report.lostRaces++;
        if (result.isError) report.errors++;
      }
    };
    const workers = Math.min(MAX_IN_FLIGHT_PER_RESOURCE, queue.length);
    await Promise.all(Array.from({ length: workers }, worker));
  }

  /**
   * One job: wait for a slot, read the key, call, classify, apply. A 401 re-reads the key (bypassing the
   * cache) and retries once on the next slot. Upstream and secret faults become outcomes; an abort leaves the
   * job untouched (still due).
   */
  private async pollJob(
    handle: PollHandle,
    resource: string,
    slots: SlotSource,
    signal: AbortSignal,
    paused: { value: boolean } = { value: false },
  ): Promise<PollResult> {
    const { store, clock, logger, settings } = this.deps;
    const job = handle.job;
    const adapter = this.deps.getAdapter(job.kind);
    if (!adapter) {
      logger.error('job has an unknown kind', { jobId: job.id, kind: job.kind });
      return { outcome: 'aborted', isError: true };
    }
    const timing = { upstreamMs: 0 };
    let outcome: PollOutcome;
    try {
      outcome = await this.callUpstream(job, adapter, slots, signal, paused, timing);
    } catch (e) {
      // Aborted (deadline, shutdown) or no slot left: the job is untouched and stays due.
      if (signal.aborted || e instanceof SkipError) return { outcome: 'aborted', isError: false };
      throw e;
    }
    const now = clock.now();
    const transition = nextTransition(job, outcome, adapter, {
      now,
      random: this.deps.random,
      idleIntervalMs: settings.idleIntervalMs,
    });
    if (transition.pause) {
      paused.value = true;
      await pauseResource(store, resource, transition.pause);
      logger.warn('resource paused', {
        resource,
        code: transition.pause.code,
        until: transition.pause.until.toISOString(),
      });
    }
    if (transition.stale) logger.warn('stale upstream status dropped', { jobId: job.id, kind: job.kind });
    const result = await store.applyState(handle, transition.state, transition.history);
    const state: JobState = transition.state;
    const isError = outcome.kind === 'failure';
    logger.info('job polled', {
      jobId: job.id,
      kind: job.kind,
      resource,
      outcome: outcome.kind === 'status' ? 'ok' : outcome.failure.code,
      status: state.status,
      upstreamStatus: state.upstreamStatus,
      ...(outcome.kind === 'failure' && outcome.failure.httpStatus
        ? { httpStatus: outcome.failure.httpStatus }
        : {}),
      durationMs: timing.upstreamMs,
      applied: result.applied,
    });
    if (outcome.kind === 'status' && outcome.reading.unknownUpstreamStatus) {
      logger.warn('unknown upstream status mapped to running', {
        jobId: job.id,
        kind: job.kind,
        upstreamStatus: outcome.reading.upstreamStatus,
      });
    }
    if (!result.applied) return { outcome: result.reason, isError };
    return { outcome: 'applied', job: result.job, isError };
  }

  private async callUpstream(
    job: Job,
    adapter: JobAdapter,
    slots: SlotSource,
    signal: AbortSignal,
    paused: { value: boolean },
    timing: { upstreamMs: number },
  ): Promise<PollOutcome> {
    const { keys, settings } = this.deps;
    // The allow-list is checked again before every call: a job stored before a rule change cannot leak a key.
    const check = checkUpstreamOrigin(job.endpoint, settings.allowedUpstreamOrigins);
    if (!check.ok) return invalid(`Endpoint is no longer allowed: ${check.message}`);
    const url = adapter.buildUrl(check.origin, job.identity, job.apiVersion);
    let key: string;
    try {
      key = await keys.getKey(job.keySecretName, { abortSignal: signal });
    } catch (e) {
      if (signal.aborted) throw e;
      return secretFailure(e);
    }
    let outcome = await this.callOnSlot(url, adapter, key, slots, signal, paused, timing);
    if (outcome.kind === 'failure' && outcome.failure.code === 'Unauthorized') {
      // Rotation: re-read the key once, bypassing the cache, and retry once on the next slot.
      try {
        key = await keys.getKey(job.keySecretName, { bypassCache: true, abortSignal: signal });
      } catch (e) {
        if (signal.aborted) throw e;
        return secretFailure(e);
      }
      try {
        outcome = await this.callOnSlot(url, adapter, key, slots, signal, paused, timing);
      } catch (e) {
        if (!(e instanceof SkipError)) throw e;
        // No slot left for the retry in this cycle: keep the 401; the fresh key is cached for the next try.
      }
    }
    return outcome;
  }

  private async callOnSlot(
    url: string,
    adapter: JobAdapter,
    key: string,
    slots: SlotSource,
    signal: AbortSignal,
    paused: { value: boolean },
    timing: { upstreamMs: number },
  ): Promise<PollOutcome> {
    const { clock, settings } = this.deps;
    const slot = await slots();
    if (slot === undefined) throw new SkipError('no budget slot left');
    await clock.sleep(slot - clock.now().getTime(), signal);
    if (paused.value) throw new SkipError('resource paused');
    const callStarted = performance.now();
    try {
      const response = await this.deps.fetchUpstream(url, {
        headers: { [adapter.keyHeader]: key },
        timeoutMs: settings.upstreamTimeoutMs,
        abortSignal: signal,
      });
      timing.upstreamMs += Math.round(performance.now() - callStarted);
      return adapter.interpret(response, clock.now());
    } catch (e) {
      if (signal.aborted) throw e;
      if (e instanceof UpstreamCallError) {
        timing.upstreamMs += Math.round(performance.now() - callStarted);
        return {
          kind: 'failure',
          failure: { code: 'UpstreamUnavailable', message: `Upstream call failed: ${e.reason}.` },
        };
      }
      throw e;
    }
  }
}

/** Hands out budget slots (ms since epoch) in order; undefined when none is left. */
type SlotSource = () => Promise<number | undefined>;

class SkipError extends Error {}

function invalid(message: string): PollOutcome {
  return { kind: 'failure', failure: { code: 'InvalidResponse', message } };
}

function secretFailure(e: unknown): PollOutcome {
  if (e instanceof SecretUnavailableError) {
    return {
      kind: 'failure',
      failure: {
        code: 'SecretUnavailable',
        message: e.message,
        ...(e.options.httpStatus !== undefined ? { httpStatus: e.options.httpStatus } : {}),
        ...(e.options.retryAfterMs !== undefined ? { retryAfterMs: e.options.retryAfterMs } : {}),
      },
    };
  }
  return {
    kind: 'failure',
    failure: { code: 'SecretUnavailable', message: 'The subscription key could not be read.' },
  };
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
