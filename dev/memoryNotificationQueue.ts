import type { Clock } from '../shared/clock';
import type { NotificationMessage, NotificationQueue } from '../shared/notifications/messages';

/** Most deliveries of one message before it goes to the poison list (the Functions host's maxDequeueCount). */
const MAX_DEQUEUE_COUNT = 5;

/**
 * An in-memory `notifications` queue on a clock (tests and benchmarks), delivering as the Functions host does:
 * invisible for its delay, handed (as parsed JSON) to the handler, delivered again when the handler throws, moved to
 * `poison` after five failures. `unreachable` makes `send` fail as a refused connection does.
 */
export class MemoryNotificationQueue implements NotificationQueue {
  readonly sent: { message: NotificationMessage; delayMs: number; at: number }[] = [];
  readonly poison: NotificationMessage[] = [];
  unreachable = false;
  private handler: ((message: unknown) => Promise<void>) | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly clock: Clock) {}

  listen(handler: (message: unknown) => Promise<void>): void {
    this.handler = handler;
  }

  send(message: NotificationMessage, options: { delayMs?: number } = {}): Promise<void> {
    if (this.unreachable) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:10001'));
    const delayMs = Math.ceil(Math.max(0, options.delayMs ?? 0) / 1000) * 1000;
    this.sent.push({ message, delayMs, at: this.clock.now().getTime() });
    const delivery = this.deliver(message, delayMs).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
    return Promise.resolve();
  }

  /** Resolves when every message sent so far (and every one they led to) has been handled or poisoned. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async deliver(message: NotificationMessage, delayMs: number): Promise<void> {
    await this.clock.sleep(delayMs);
    for (let dequeueCount = 1; dequeueCount <= MAX_DEQUEUE_COUNT; dequeueCount++) {
      if (!this.handler) return;
      try {
        await this.handler(JSON.parse(JSON.stringify(message)));
        return;
      } catch {
        // visible again at once (host.json visibilityTimeout is short), as the host retries
        await this.clock.sleep(1_000);
      }
    }
    this.poison.push(message);
  }
}
