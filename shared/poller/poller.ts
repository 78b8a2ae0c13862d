import { createHash } from 'node:crypto';
import type { Logger } from '../logger';
import type { Job } from '../model';
import { checkUpstreamOrigin } from '../upstream/allowList';
import type { RateBudget } from '../upstream/types';
import { budgetFor } from './budget';
import type { PollContext } from './context';
import { INVALID_RESOURCE_PREFIX, runCycle } from './cycle';
import type { CycleReport, PollerDeps } from './deps';
import { JobPoll } from './jobPoll';
import { ResourceGate } from './gate';
import { pollNow } from './refresh';
import { pollQueued, type QueuedOutcome } from './worker';

export {
  writeMarginMs,
  type CycleReport,
  type FetchUpstream,
  type KeyProvider,
  type PollerDeps,
} from './deps';
export { JobNotFoundError, ResourceBusyError } from './errors';
export type { QueuedOutcome } from './worker';

/**
 * The poller (docs/spec.md §5): the cycle (./cycle.ts), a refresh (./refresh.ts), both through the same per-job
 * poll (./jobPoll.ts). The only place where store, secrets and upstream meet.
 */
export class Poller {
  private readonly context: PollContext;

  constructor(
    private readonly deps: PollerDeps,
    /** Pauses (resource → until, ms) met by any cycle or refresh of this process. */
    private readonly pauses = new Map<string, number>(),
    /** Queue workers' gates, one per resource, shared by the messages this process handles. */
    private readonly gates = new Map<string, ResourceGate>(),
  ) {
    this.context = {
      deps,
      pauses,
      jobs: new JobPoll(deps),
      resourceOf: (job) => this.resourceOf(job),
      budgetOf: (resource, jobs) => this.budgetOf(resource, jobs),
      gateOf: (resource, budget) => {
        let gate = this.gates.get(resource);
        if (!gate) {
          gate = new ResourceGate(resource, undefined, deps.store, deps.clock, pauses, budget);
          this.gates.set(resource, gate);
        }
        return gate;
      },
      stateSeen: (state) => this.gates.get(state.resource)?.observe(state),
    };
  }

  /** The same poller, logging to `logger` (an invocation context). */
  withLogger(logger: Logger): Poller {
    return new Poller({ ...this.deps, logger }, this.pauses, this.gates);
  }

  runCycle(options: { abortSignal?: AbortSignal } = {}): Promise<CycleReport> {
    return runCycle(this.context, options);
  }

  /**
   * Polls the job of one `polls` message at its slot (the queue-triggered function `pollJob`). Throws only when
   * the message should be delivered again.
   */
  pollQueued(
    message: unknown,
    options: { dequeueCount?: number; abortSignal?: AbortSignal } = {},
  ): Promise<QueuedOutcome> {
    return pollQueued(this.context, message, options);
  }

  /** Polls one job now, through the same budget (docs/spec.md §7 refresh). */
  pollNow(id: string, options: { abortSignal?: AbortSignal } = {}): Promise<Job> {
    return pollNow(this.context, id, options);
  }

  private resourceOf(job: Job): string {
    const hosts = this.deps.getAdapter(job.kind)?.allowedHosts ?? [];
    const check = checkUpstreamOrigin(job.endpoint, this.deps.settings.allowedUpstreamOrigins, hosts);
    // A refused endpoint gets a bounded budget key of its own: its jobs end in InvalidResponse without a call.
    return check.ok
      ? check.resource
      : `${INVALID_RESOURCE_PREFIX}${createHash('sha256').update(job.endpoint).digest('hex').slice(0, 16)}`;
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
}
