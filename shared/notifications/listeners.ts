import type { Clock } from '../clock';
import type { SubscriptionStore } from './types';

/** How long this process trusts what it last read of whether any subscription exists. */
export const LISTENERS_RECHECK_MS = 5_000;
/** A look that takes longer counts as "yes": a slow subscriptions table never holds up the polls. */
const LOOK_TIMEOUT_MS = 2_000;

/**
 * Whether a transition's event has anywhere to go (docs/spec.md §12): Event Grid is configured, or at least one
 * subscription exists. Without either, a transition stores no outbox row and queues no message: an app that only
 * reads the cache pays nothing for events (a burst of 10,000 first polls cost 50 % more app CPU and 40 MB more
 * peak memory with them, benchmark 2). A subscription created through this process counts at once; one created
 * through another instance counts within `LISTENERS_RECHECK_MS`, so only the first subscription of an app can
 * miss the transitions of its first seconds. A read that fails or takes over 2 s counts as "yes": a fault never
 * drops an event, and never holds up a poll.
 */
export class EventListeners {
  private known: { any: boolean; at: number } | undefined;
  private reading: Promise<boolean> | undefined;

  constructor(
    private readonly deps: {
      subscriptions: Pick<SubscriptionStore, 'list'>;
      /** Event Grid is configured: every event has a listener. */
      eventGrid: boolean;
      clock: Clock;
    },
  ) {}

  async any(): Promise<boolean> {
    if (this.deps.eventGrid) return true;
    const { known } = this;
    if (known && this.deps.clock.now().getTime() - known.at < LISTENERS_RECHECK_MS) return known.any;
    this.reading ??= this.deps.subscriptions
      .list({ top: 1, abortSignal: AbortSignal.timeout(LOOK_TIMEOUT_MS) })
      .then(
        (page) => page.items.length > 0,
        () => true,
      )
      .then((any) => {
        this.known = { any, at: this.deps.clock.now().getTime() };
        return any;
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  /** A subscription was created through this process: events are stored and sent from now on. */
  added(): void {
    this.known = { any: true, at: this.deps.clock.now().getTime() };
  }
}
