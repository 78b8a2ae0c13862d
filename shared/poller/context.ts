import type { Job } from '../model';
import type { ResourceState } from '../store/types';
import type { RateBudget } from '../upstream/types';
import type { PollerDeps } from './deps';
import type { ResourceGate } from './gate';
import type { JobPoll } from './jobPoll';

/** What a cycle, a refresh and a queue worker share: the dependencies, the per-job poll, the pauses met. */
export interface PollContext {
  deps: PollerDeps;
  /** Pauses (resource → until, ms) met by any cycle or refresh of this process. */
  pauses: Map<string, number>;
  jobs: JobPoll;
  /** The budget key of a job: its endpoint's host (and port), or a key of its own for a refused endpoint. */
  resourceOf(job: Job): string;
  /** The resource's configured budget, else the strictest default of the kinds of `jobs`. */
  budgetOf(resource: string, jobs: readonly Job[]): RateBudget;
  /** The process's gate of a resource for queue workers (pause state read before its first call). */
  gateOf(resource: string, budget: RateBudget): ResourceGate;
  /** A reservation read or wrote the resource's row: the queue workers' gate need not read it again yet. */
  stateSeen(state: ResourceState): void;
}
