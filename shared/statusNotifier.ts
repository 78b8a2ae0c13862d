/**
 * An in-process signal that a job's stored state changed: the poller signals it after it stores a new state, and
 * the long-poll waiters of the same process (shared/api/statusWaits.ts) read the job at once instead of at their
 * next scheduled read (docs/spec.md §7). Other processes are not told: their waiters read on their schedule.
 */
export interface StatusNotifier {
  /** The poller stored a new state for `jobId`. */
  stateStored(jobId: string): void;
}

/** The notifier of one process: listeners per job id. */
export class LocalStatusNotifier implements StatusNotifier {
  private readonly listeners = new Map<string, Set<() => void>>();

  stateStored(jobId: string): void {
    for (const listener of [...(this.listeners.get(jobId) ?? [])]) listener();
  }

  /** Calls `listener` on every state stored for `jobId` until the returned function is called. */
  listen(jobId: string, listener: () => void): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(jobId) === set) this.listeners.delete(jobId);
    };
  }

  /** Jobs with at least one listener (a figure for tests: nothing is left behind). */
  listenedJobs(): number {
    return this.listeners.size;
  }
}
