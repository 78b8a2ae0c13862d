import type { SlotSource } from './slots';
import { SecretUnavailableError, UpstreamCallError } from '../errors';
import type { Job, JobState, PollOutcome } from '../model';
import type { PollHandle } from '../store/types';
import { checkUpstreamOrigin } from '../upstream/allowList';
import { stateWithAnswer, withAnswer } from '../upstream/answer';
import type { JobAdapter } from '../upstream/types';
import { pauseResource } from './budget';
import { describeError, type PollerDeps } from './deps';
import type { ResourceGate } from './gate';
import { nextTransition } from './policy';

export interface PollResult {
  /** `skipped`: no budget slot left for the call, or too late for it; the job is untouched and stays due. */
  outcome: 'applied' | 'lostRace' | 'deleted' | 'aborted' | 'skipped';
  job?: Job;
  /** Faults of the service to count: a secret failure, a resource pause that could not be stored. */
  errors: number;
  /** 1 when the upstream answered with an error outcome (404, 429, 5xx, timeout...): not a fault of ours. */
  upstreamErrors?: number;
}

/**
 * The per-job poll, the same for a cycle, a refresh and a queue worker: slot → key → adapter → upstream →
 * classify → store.
 */
export class JobPoll {
  constructor(private readonly deps: PollerDeps) {}

  /**
   * One job: wait for a slot, read the key, call, classify, apply. A 401 re-reads the key (bypassing the
   * cache) and retries once on the next slot. Upstream and secret faults become outcomes; an abort, a pause or
   * a slot too late for the cycle leaves the job untouched (still due). A pause that cannot be stored does not
   * stop the job's own outcome from being stored.
   */
  async poll(
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
    const call: CallContext = { slots, freshSlots: retrySlots, signal, gate, lastCallAt, timing };
    const retry: CallContext = { ...call, slots: retrySlots };
    let outcome: PollOutcome;
    try {
      outcome = await this.callUpstream(job, adapter, call, retry);
    } catch (e) {
      // Aborted (deadline, shutdown), or no slot left in time: the job is untouched and stays due.
      if (signal.aborted) return { outcome: 'aborted', errors: 0 };
      if (e instanceof SkipError) return { outcome: 'skipped', errors: 0 };
      throw e;
    }
    const now = clock.now();
    const transition = nextTransition(job, outcome, adapter, {
      now,
      random: this.deps.random,
      idleIntervalMs: settings.idleIntervalMs,
      ...(scheduleFrom ? { scheduleFrom } : {}),
    });
    // Drop-in reads (docs/spec.md §13): the answer the stored status came from is stored with it.
    transition.state = stateWithAnswer(transition.state, outcome, transition.stale === true);
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
        logger.error('resource pause not stored', { resource, error: describeError(e) });
      }
    }
    if (transition.stale) logger.warn('stale upstream status dropped', { jobId: job.id, kind: job.kind });
    // A transition's event is stored with it (outbox), unless nothing listens (docs/spec.md §12).
    const event = transition.history !== undefined && ((await this.deps.transitions?.wanted()) ?? true);
    const result = await store.applyState(handle, transition.state, transition.history, { event });
    if (result.applied) this.deps.notifier?.stateStored(job.id);
    // The event was stored with the transition: hand it on now; a failed send is swept later.
    if (result.applied && event) await this.deps.transitions?.stored(job.id);
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
   * passed over for the first slot after it. A call that reaches its slot later than the budget's late allowance
   * (a worker held up by an earlier call, a slow key read, a busy host) would crowd the next window past the
   * budget: it takes another slot, once (then only timer jitter can make it late, and a call is always made).
   * None left, or too late for the cycle: `SkipError`.
   */
  private async callOnSlot(
    url: string,
    adapter: JobAdapter,
    { slots, freshSlots, signal, gate, lastCallAt, timing }: CallContext,
    keyFor: () => Promise<string>,
  ): Promise<{ outcome: PollOutcome; key?: string }> {
    const { clock, settings } = this.deps;
    let slot = await slots();
    let key: string | undefined;
    let reslotted = false;
    for (;;) {
      if (slot === undefined) throw new SkipError('no budget slot left');
      await clock.sleep(slot - clock.now().getTime(), signal);
      const pausedUntil = await gate.pausedNow(signal);
      if (pausedUntil !== undefined) {
        slot = await slots(pausedUntil);
        continue;
      }
      if (key === undefined) {
        try {
          key = await keyFor();
        } catch (e) {
          if (signal.aborted) throw e;
          return { outcome: secretFailure(e) };
        }
      }
      const now = clock.now().getTime();
      if (reslotted || now <= slot + gate.lateAllowanceMs) break;
      reslotted = true;
      slots = freshSlots;
      slot = await freshSlots(now - gate.lateAllowanceMs);
    }
    await gate.spaced(signal);
    // A worker held up by an earlier call may reach its slot late: a call that could not end in time is not made.
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
      const at = clock.now();
      return { outcome: withAnswer(adapter.interpret(response, at), response, at), key };
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
  /** Where a call too late for its slot takes another: the spare slots, then a new reservation. */
  freshSlots: SlotSource;
  signal: AbortSignal;
  gate: ResourceGate;
  /** No call starts after this (ms). */
  lastCallAt: number;
  timing: { upstreamMs: number };
}

export class SkipError extends Error {}

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
