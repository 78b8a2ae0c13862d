import type { Clock } from '../shared/clock';
import { QueueUnavailableError } from '../shared/errors';
import type { PollMessage, PollQueue } from '../shared/queue/types';

export type QueueHandler = (
  message: unknown,
  options: { dequeueCount: number; abortSignal?: AbortSignal },
) => Promise<unknown>;

/** Most deliveries of one message before it goes to the poison list (the Functions host's maxDequeueCount). */
const MAX_DEQUEUE_COUNT = 5;

/**
 * An in-memory `polls` queue on a clock (tests and benchmarks), delivering as the Functions host does: a message is invisible until its
 * `slotAt`, is delivered (as the parsed JSON the host passes) to the handler, delivered again when the handler
 * throws, and moved to `poison` after five failures. `unreachable` makes `send` fail as a refused connection does;
 * `answerLostFor` makes it store a message and then fail, as a send whose answer was lost does.
 */
export class MemoryPollQueue implements PollQueue {
  readonly sent: PollMessage[] = [];
  readonly poison: PollMessage[] = [];
  readonly outcomes: { message: PollMessage; dequeueCount: number; outcome: unknown }[] = [];
  unreachable = false;
  /** Messages for these jobs are stored (and delivered), then the send fails as a lost answer does. */
  readonly answerLostFor = new Set<string>();
  private handler: QueueHandler | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly clock: Clock) {}

  /** The queue-triggered function: every message sent from now on is delivered to it at its slot. */
  listen(handler: QueueHandler): void {
    this.handler = handler;
  }

  send(message: PollMessage): Promise<void> {
    if (this.unreachable)
      return Promise.reject(
        new QueueUnavailableError('The polls queue did not take the message (ECONNREFUSED)', 'polls'),
      );
    this.sent.push(message);
    const delivery = this.deliver(message).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
    if (this.answerLostFor.has(message.jobId))
      return Promise.reject(
        new QueueUnavailableError('The polls queue did not take the message (timeout)', 'polls', {
          maybeStored: true,
        }),
      );
    return Promise.resolve();
  }

  /** Delivers `message` again (a duplicate delivery, as at-least-once queues may make). */
  redeliver(message: PollMessage): Promise<void> {
    const delivery = this.deliver(message).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
    return delivery;
  }

  /** Resolves when every message sent so far has been handled (or poisoned). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async deliver(message: PollMessage): Promise<void> {
    await this.clock.sleep(Date.parse(message.slotAt) - this.clock.now().getTime());
    for (let dequeueCount = 1; dequeueCount <= MAX_DEQUEUE_COUNT; dequeueCount++) {
      if (!this.handler) return;
      try {
        const outcome = await this.handler(JSON.parse(JSON.stringify(message)), { dequeueCount });
        this.outcomes.push({ message, dequeueCount, outcome });
        return;
      } catch (error) {
        this.outcomes.push({ message, dequeueCount, outcome: error });
      }
    }
    this.poison.push(message);
  }
}
