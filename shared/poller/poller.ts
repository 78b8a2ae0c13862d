import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Clock, RandomSource } from '../clock';
import { SecretUnavailableError, StatusCacheError, UpstreamCallError } from '../errors';
import type { Logger } from '../logger';
import type { Job, JobState, PollOutcome } from '../model';
import type { CycleSummary, JobStore, PollHandle, ResourceState } from '../store/types';
import type { Telemetry } from '../telemetry';
import { checkUpstreamOrigin } from '../upstream/allowList';
import type { JobAdapter, RateBudget, UpstreamResponse } from '../upstream/types';
import { budgetFor, pauseResource, reserveSlots, spacingMs } from './budget';
import { nextTransition } from './policy';

export interface KeyProvider {
  /**
   * `bypassCache` after an upstream 401, with `refusedKey` the key that was refused: a provider that already
   * holds another key (a concurrent re-read got the rotated one) returns it without reading the vault again.
   */
  getKey(
    name: string,
    options?: { bypassCache?: boolean; refusedKey?: string; abortSignal?: AbortSignal },
  ): Promise<string>;
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
  /**
   * Metrics (docs/spec.md §11); none when absent. A type-only import: this file loads when the app is imported,
   * and @opentelemetry/api should not.
   */
  telemetry?: Telemetry;
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
/**
 * Before a call, a resource's pause state is read again when the copy in hand is older than this: another cycle
 * or host may have met a 429 since (at most one read per resource per second of calls).
 */
const PAUSE_RECHECK_MS = 1_000;

/** Time kept at the end of a cycle to store the outcome of its last calls: the last call starts before it. */
export function writeMarginMs(cycleDeadlineMs: number): number {
  return Math.min(2_000, Math.floor(cycleDeadlineMs / 10));
}

interface PollResult {
  outcome: 'applied' | 'lostRace' | 'deleted' | 'aborted';
  job?: Job;
  /** Faults of the service to count: a secret failure, a resource pause that could not be stored. */
  errors: number;
  /** 1 when the upstream answered with an error outcome (404, 429, 5xx, timeout...): not a fault of ours. */
  upstreamErrors?: number;
}

/**
 * What one cycle (or refresh) knows of a resource's pause: its own 429s at once, other writers' through the
 * resource row, read again before a call when older than `PAUSE_RECHECK_MS`. Pauses met in this process are
 * shared by every cycle and refresh of the process (`pauses`).
 */
class ResourceGate {
  private pausedUntil: number;
  private readAt: number;
  private reading: Promise<void> | undefined;
  private readonly recheckMs: number;
  /** The earliest start of the next call from this gate (ms). */
  private nextStartAt = 0;

  constructor(
    readonly resource: string,
    state: ResourceState | undefined,
    private readonly store: JobStore,
    private readonly clock: Clock,
    private readonly pauses: Map<string, number>,
    /** The budget's spacing between two calls (ms). */
    private readonly spacingMs: number,
  ) {
    this.pausedUntil = pausedUntilOf(state);
    this.readAt = clock.now().getTime();
    // A row read per call would cost a Table transaction per call on a fast budget: every 20 calls at most.
    this.recheckMs = Math.max(PAUSE_RECHECK_MS, 20 * spacingMs);
  }

  /**
   * Waits, when needed, so that calls through this gate start at least one spacing apart. Slots are spaced
   * already; this keeps the spacing when a call reaches its slot late (a slow key read) and the next does not.
   */
  async spaced(signal: AbortSignal): Promise<void> {
    const now = this.clock.now().getTime();
    const start = Math.max(now, this.nextStartAt);
    this.nextStartAt = start + this.spacingMs;
    await this.clock.sleep(start - now, signal);
  }

  pause(until: Date): void {
    this.pausedUntil = Math.max(this.pausedUntil, until.getTime());
    this.pauses.set(this.resource, Math.max(this.pauses.get(this.resource) ?? 0, until.getTime()));
  }

  /** The end of the pause in force now (ms), or undefined when calls may be made. */
  async pausedNow(signal: AbortSignal): Promise<number | undefined> {
    const now = this.clock.now().getTime();
    if (now - this.readAt >= this.recheckMs) {
      this.reading ??= this.store
        .getResourceState(this.resource, { abortSignal: signal })
        .then(
          (state) => {
            this.pausedUntil = Math.max(this.pausedUntil, pausedUntilOf(state));
          },
          () => undefined, // unreadable: go on with what is known
        )
        .finally(() => {
          this.readAt = this.clock.now().getTime();
          this.reading = undefined;
        });
      await this.reading;
    }
    const until = Math.max(this.pausedUntil, this.pauses.get(this.resource) ?? 0);
    return until > this.clock.now().getTime() ? until : undefined;
  }
}

function pausedUntilOf(state: ResourceState | undefined): number {
  const until = state?.pausedUntil ? Date.parse(state.pausedUntil) : NaN;
  return Number.isFinite(until) ? until : 0;
}

/** Why a cycle stopped early. */
class CycleDeadlineError extends Error {
  constructor() {
    super('cycle deadline');
    this.name = 'CycleDeadlineError';
  }
}

/**
 * The poll cycle: listDue → budget per resource → key → adapter → store.applyState (docs/spec.md §5).
 * The only place where store, secrets and upstream meet.
 */
export class Poller {
  constructor(
    private readonly deps: PollerDeps,
    /** Pauses (resource → until, ms) met by any cycle or refresh of this process. */
    private readonly pauses = new Map<string, number>(),
  ) {}

  /** The same poller, logging to `logger` (an invocation context). */
  withLogger(logger: Logger): Poller {
    return new Poller({ ...this.deps, logger }, this.pauses);
  }

  async runCycle(options: { abortSignal?: AbortSignal } = {}): Promise<CycleReport> {
    const { store, clock, logger, settings } = this.deps;
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
      const [due, resources] = await Promise.all([
        store.listDue(started, {
          limit: settings.cycleMaxJobs,
          abortSignal: signal,
          // One unreadable row or shard never stops the cycle: it is skipped, counted and logged.
          onProblem: ({ where, error }) => {
            report.errors++;
            logger.error('due jobs skipped', { where, error: describe(error) });
          },
        }),
        // Without the list, each resource's row is read when its slots are reserved.
        store.listResourceStates({ abortSignal: signal }).catch((e: unknown) => {
          if (!signal.aborted) logger.warn('resource states not listed', { error: describe(e) });
          return new Map<string, ResourceState>();
        }),
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
          this.pollResource(
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
            logger.error('resource poll failed', { resource, error: describe(e) });
          }),
        ),
      );
    } catch (e) {
      report.errors++;
      logger.error('poll cycle failed', { error: describe(e) });
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
      logger.error('cycle summary not saved', { error: describe(e) });
    }
    const durationMs = Date.parse(report.finishedAt) - started.getTime();
    this.deps.telemetry?.cycleFinished({ ...report, durationMs });
    logger.info('poll cycle finished', {
      ...report,
      durationMs,
      ...(signal.aborted ? { stoppedBy: describe(signal.reason) } : {}),
    });
    return report;
  }

  /** Polls one job now, through the same budget (docs/spec.md §7 refresh). */
  async pollNow(id: string, options: { abortSignal?: AbortSignal } = {}): Promise<Job> {
    const { store, clock, settings } = this.deps;
    const handle = await store.getForPoll(id, options);
    if (!handle) throw new JobNotFoundError(`Job ${id} does not exist.`);
    const resource = this.resourceOf(handle.job);
    const budget = this.budgetOf(resource, [handle.job]);
    const knownPause = this.pauses.get(resource) ?? 0;
    if (knownPause > clock.now().getTime())
      throw new ResourceBusyError(resource, new Date(knownPause), clock.now());
    const reservation = await reserveSlots(
      store,
      clock,
      resource,
      budget,
      1,
      clock.now().getTime() + REFRESH_MAX_WAIT_MS,
      options.abortSignal ? { abortSignal: options.abortSignal } : {},
    );
    const slot = reservation.slots[0];
    if (slot === undefined)
      throw new ResourceBusyError(
        resource,
        'retryAt' in reservation ? reservation.retryAt : clock.now(),
        clock.now(),
      );
    const slots = queueOf([slot]);
    // A 401 retry takes one more slot of the same budget.
    const retrySlots: SlotSource = async (notBefore) =>
      (await slots(notBefore)) ??
      (
        await reserveSlots(store, clock, resource, budget, 1, clock.now().getTime() + REFRESH_MAX_WAIT_MS, {
          ...(notBefore !== undefined ? { notBefore } : {}),
        })
      ).slots[0];
    const signal = AbortSignal.any([
      ...(options.abortSignal ? [options.abortSignal] : []),
      AbortSignal.timeout(REFRESH_MAX_WAIT_MS + 2 * settings.upstreamTimeoutMs),
    ]);
    const gate = new ResourceGate(resource, reservation.state, store, clock, this.pauses, spacingMs(budget));
    const result = await this.pollJob(
      handle,
      resource,
      { slots, retrySlots },
      signal,
      gate,
      Number.POSITIVE_INFINITY,
    );
    if (result.outcome === 'deleted') throw new JobNotFoundError(`Job ${id} does not exist.`);
    if (result.job) return result.job;
    if (result.outcome === 'aborted') {
      const pausedUntil = await gate.pausedNow(signal).catch(() => undefined);
      if (pausedUntil !== undefined)
        throw new ResourceBusyError(resource, new Date(pausedUntil), clock.now());
    }
    const latest = await store.get(id, options);
    if (!latest) throw new JobNotFoundError(`Job ${id} does not exist.`);
    return latest;
  }

  private resourceOf(job: Job): string {
    const hosts = this.deps.getAdapter(job.kind)?.allowedHosts ?? [];
    const check = checkUpstreamOrigin(job.endpoint, this.deps.settings.allowedUpstreamOrigins, hosts);
    // A refused endpoint gets a bounded budget key of its own: its jobs end in InvalidResponse without a call.
    return check.ok
      ? check.resource
      : `invalid:${createHash('sha256').update(job.endpoint).digest('hex').slice(0, 16)}`;
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
    lastCallAt: number,
    cycleStartedAt: Date,
    signal: AbortSignal,
    report: CycleReport,
  ): Promise<void> {
    const { store, clock, logger } = this.deps;
    const budget = this.budgetOf(
      resource,
      handles.map((h) => h.job),
    );
    const knownPause = this.pauses.get(resource) ?? 0;
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
    const gate = new ResourceGate(resource, reservation.state, store, clock, this.pauses, spacingMs(budget));
    const worker = async (): Promise<void> => {
      for (let handle = queue.shift(); handle; handle = queue.shift()) {
        if (signal.aborted) return;
        try {
          const result = await this.pollJob(
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
          logger.error('job poll failed', { jobId: handle.job.id, resource, error: describe(e) });
        }
      }
    };
    const workers = Math.min(MAX_IN_FLIGHT_PER_RESOURCE, queue.length);
    await Promise.all(Array.from({ length: workers }, worker));
  }

  /**
   * One job: wait for a slot, read the key, call, classify, apply. A 401 re-reads the key (bypassing the
   * cache) and retries once on the next slot. Upstream and secret faults become outcomes; an abort, a pause or
   * a slot too late for the cycle leaves the job untouched (still due). A pause that cannot be stored does not
   * stop the job's own outcome from being stored.
   */
  private async pollJob(
    handle: PollHandle,
    resource: string,
    { slots, retrySlots }: { slots: SlotSource; retrySlots: SlotSource },
    signal: AbortSignal,
    gate: ResourceGate,
    lastCallAt: number,
    /**
     * A cycle schedules the next check from its own start, so that a job polled a few seconds into this cycle
     * is due again at the cycle one interval later, not one cycle after that. The budget still spaces the calls.
     */
    scheduleFrom?: Date,
  ): Promise<PollResult> {
    const { store, clock, logger, settings } = this.deps;
    const job = handle.job;
    const adapter = this.deps.getAdapter(job.kind);
    if (!adapter) {
      logger.error('job has an unknown kind', { jobId: job.id, kind: job.kind });
      return { outcome: 'aborted', errors: 1 };
    }
    const timing = { upstreamMs: 0 };
    const call: CallContext = { slots, signal, gate, lastCallAt, timing };
    const retry: CallContext = { ...call, slots: retrySlots };
    let outcome: PollOutcome;
    try {
      outcome = await this.callUpstream(job, adapter, call, retry);
    } catch (e) {
      // Aborted (deadline, shutdown), paused, or no slot left: the job is untouched and stays due.
      if (signal.aborted || e instanceof SkipError) return { outcome: 'aborted', errors: 0 };
      throw e;
    }
    const now = clock.now();
    const transition = nextTransition(job, outcome, adapter, {
      now,
      random: this.deps.random,
      idleIntervalMs: settings.idleIntervalMs,
      ...(scheduleFrom ? { scheduleFrom } : {}),
    });
    // Only a vault fault is the service's own; any other failure is the upstream's answer (health, docs/spec.md §7).
    const failed = outcome.kind === 'failure' ? outcome.failure.code : undefined;
    let errors = failed === 'SecretUnavailable' ? 1 : 0;
    const upstreamErrors = failed === undefined || failed === 'SecretUnavailable' ? 0 : 1;
    if (transition.pause) {
      gate.pause(transition.pause.until);
      this.deps.telemetry?.resourcePaused({ resource, reason: transition.pause.code });
      logger.warn('resource paused', {
        resource,
        code: transition.pause.code,
        until: transition.pause.until.toISOString(),
      });
      try {
        await pauseResource(store, resource, transition.pause);
      } catch (e) {
        // This cycle and this process hold the pause in memory, and the job keeps its own retryAt.
        errors++;
        logger.error('resource pause not stored', { resource, error: describe(e) });
      }
    }
    if (transition.stale) logger.warn('stale upstream status dropped', { jobId: job.id, kind: job.kind });
    const result = await store.applyState(handle, transition.state, transition.history);
    const state: JobState = transition.state;
    const outcomeName = outcome.kind === 'status' ? 'ok' : outcome.failure.code;
    this.deps.telemetry?.polled({ kind: job.kind, resource, outcome: outcomeName });
    if (result.applied && transition.history)
      this.deps.telemetry?.transitioned({ kind: job.kind, status: state.status });
    logger.info('job polled', {
      jobId: job.id,
      kind: job.kind,
      resource,
      outcome: outcomeName,
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
    if (!result.applied) return { outcome: result.reason, errors, upstreamErrors };
    return { outcome: 'applied', job: result.job, errors, upstreamErrors };
  }

  private async callUpstream(
    job: Job,
    adapter: JobAdapter,
    call: CallContext,
    retry: CallContext,
  ): Promise<PollOutcome> {
    const { keys, settings } = this.deps;
    const { signal } = call;
    // The allow-list is checked again before every call: a job stored before a rule change cannot leak a key.
    const check = checkUpstreamOrigin(job.endpoint, settings.allowedUpstreamOrigins, adapter.allowedHosts);
    if (!check.ok) return invalid(`Endpoint is no longer allowed: ${check.message}`);
    const url = adapter.buildUrl(check.origin, job.identity, job.apiVersion);
    const first = await this.callOnSlot(url, adapter, call, () =>
      keys.getKey(job.keySecretName, { abortSignal: signal }),
    );
    if (first.outcome.kind !== 'failure' || first.outcome.failure.code !== 'Unauthorized')
      return first.outcome;
    // Rotation: re-read the key once, bypassing the cache (unless a concurrent re-read already replaced the
    // refused key), and retry once on the next slot.
    let fresh: string;
    try {
      fresh = await keys.getKey(job.keySecretName, {
        bypassCache: true,
        ...(first.key !== undefined ? { refusedKey: first.key } : {}),
        abortSignal: signal,
      });
    } catch (e) {
      if (signal.aborted) throw e;
      return secretFailure(e);
    }
    try {
      return (await this.callOnSlot(url, adapter, retry, () => Promise.resolve(fresh))).outcome;
    } catch (e) {
      if (!(e instanceof SkipError)) throw e;
      // No slot left for the retry in this cycle: keep the 401; the fresh key is cached for the next try.
      return first.outcome;
    }
  }

  /**
   * Waits for the next budget slot, reads the key (then, not before the wait: a key rotated meanwhile is used)
   * and calls. A slot inside a pause (met by this cycle, another cycle of this process, or another host) is
   * passed over for the first slot after it; none left, or too late for the cycle: `SkipError`.
   */
  private async callOnSlot(
    url: string,
    adapter: JobAdapter,
    { slots, signal, gate, lastCallAt, timing }: CallContext,
    keyFor: () => Promise<string>,
  ): Promise<{ outcome: PollOutcome; key?: string }> {
    const { clock, settings } = this.deps;
    let slot = await slots();
    for (;;) {
      if (slot === undefined) throw new SkipError('no budget slot left');
      await clock.sleep(slot - clock.now().getTime(), signal);
      const pausedUntil = await gate.pausedNow(signal);
      if (pausedUntil === undefined) break;
      slot = await slots(pausedUntil);
    }
    // A worker held up by an earlier call may reach its slot late: a call that could not end in time is not made.
    if (clock.now().getTime() > lastCallAt) throw new SkipError('too late in the cycle');
    let key: string;
    try {
      key = await keyFor();
    } catch (e) {
      if (signal.aborted) throw e;
      return { outcome: secretFailure(e) };
    }
    await gate.spaced(signal);
    if (clock.now().getTime() > lastCallAt) throw new SkipError('too late in the cycle');
    const callStarted = performance.now();
    try {
      const response = await this.deps.fetchUpstream(url, {
        headers: { [adapter.keyHeader]: key },
        timeoutMs: settings.upstreamTimeoutMs,
        abortSignal: signal,
      });
      timing.upstreamMs += Math.round(performance.now() - callStarted);
      this.upstreamCalled(adapter, gate, callStarted, response.status);
      return { outcome: adapter.interpret(response, clock.now()), key };
    } catch (e) {
      if (signal.aborted) throw e;
      if (e instanceof UpstreamCallError) {
        timing.upstreamMs += Math.round(performance.now() - callStarted);
        this.upstreamCalled(adapter, gate, callStarted, 0); // no answer
        return {
          outcome: {
            kind: 'failure',
            failure: { code: 'UpstreamUnavailable', message: `Upstream call failed: ${e.reason}.` },
          },
          key,
        };
      }
      throw e;
    }
  }

  private upstreamCalled(
    adapter: JobAdapter,
    gate: ResourceGate,
    startedAt: number,
    httpStatus: number,
  ): void {
    const durationMs = performance.now() - startedAt;
    this.deps.telemetry?.upstreamCalled(durationMs, {
      kind: adapter.kind,
      resource: gate.resource,
      httpStatus,
    });
  }
}

interface CallContext {
  slots: SlotSource;
  signal: AbortSignal;
  gate: ResourceGate;
  /** No call starts after this (ms). */
  lastCallAt: number;
  timing: { upstreamMs: number };
}

/** Hands out budget slots (ms since epoch) in order, none before `notBefore`; undefined when none is left. */
type SlotSource = (notBefore?: number) => Promise<number | undefined>;

/** Reserved slots, shared by the workers of one resource; slots passed over (inside a pause) are dropped. */
function queueOf(reserved: readonly number[]): SlotSource {
  const queue = [...reserved];
  return (notBefore = 0) => {
    while (queue.length > 0 && (queue[0] ?? 0) < notBefore) queue.shift();
    return Promise.resolve(queue.shift());
  };
}

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
