import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvocationContext } from '@azure/functions';
import type { FunctionDefinition } from '../../functions/registry';
import { loadHostQueuesExtension } from '../../dev/queueSettings';
import { startQueueTriggers } from '../../dev/queueTriggers';
import type { CycleReport, Poller, QueuedOutcome } from '../../shared/poller/poller';
import { createPollQueueClient, StoragePollQueue } from '../../shared/queue/storagePollQueue';
import type { PollMessage, PollQueue } from '../../shared/queue/types';
import { systemClock, type Clock } from '../../shared/clock';
import type { Job } from '../../shared/model';
import type { RateBudget } from '../../shared/upstream/types';
import { SECRET, startHarness, type Harness } from './faultHarness';

/** A Storage `polls` queue of its own on Azurite (a fresh name), recording every message sent to it. */
export function freshPollQueue(
  connectionString: string,
  clock: Clock,
): { queue: PollQueue; queueName: string; sent: PollMessage[] } {
  const queueName = `polls${randomBytes(6).toString('hex')}`;
  const storage = new StoragePollQueue({
    client: createPollQueueClient({ connectionString, queueName }),
    clock,
  });
  const sent: PollMessage[] = [];
  return {
    queueName,
    sent,
    queue: {
      send: async (message, options) => {
        await storage.send(message, options);
        sent.push(message);
      },
    },
  };
}

export interface QueueWorkers {
  /** What each delivery came to, in completion order. */
  outcomes: { worker: number; jobId: string; outcome: QueuedOutcome | 'failed'; dequeueCount: number }[];
  stop(): Promise<void>;
}

/**
 * One queue listener per poller on `queueName`, each as a Functions instance runs `pollJob` (dev/queueTriggers.ts
 * with the project's host.json: one receive a second at most when idle, batches of 16): N instances over one queue.
 */
export function startQueueWorkers(
  connectionString: string,
  queueName: string,
  pollers: readonly Poller[],
): QueueWorkers {
  const outcomes: QueueWorkers['outcomes'] = [];
  const listeners = pollers.map((poller, worker) => {
    const definition: FunctionDefinition = {
      name: 'pollJob',
      trigger: 'storageQueue',
      queueName,
      connection: 'POLL_QUEUE',
      handler: async (message, context) => {
        const dequeueCount = Number(context.triggerMetadata?.['dequeueCount']);
        const raw = (message as { jobId?: unknown } | null)?.jobId;
        const jobId = typeof raw === 'string' ? raw : '';
        try {
          const outcome = await poller.pollQueued(message, { dequeueCount });
          outcomes.push({ worker, jobId, outcome, dequeueCount });
        } catch (error) {
          outcomes.push({ worker, jobId, outcome: 'failed', dequeueCount });
          throw error;
        }
      },
    };
    return startQueueTriggers({
      functions: [definition],
      appSettings: { POLL_QUEUE: connectionString },
      settings: loadHostQueuesExtension(),
      createContext: (functionName, triggerMetadata) =>
        new InvocationContext({
          functionName,
          invocationId: randomUUID(),
          triggerMetadata,
          logHandler: () => undefined,
        }),
    });
  });
  return {
    outcomes,
    stop: async () => void (await Promise.all(listeners.map((l) => l.stop()))),
  };
}

/** A real-time harness with running Face groups, a fresh Storage `polls` queue and N queue workers on it. */
export interface RealTimeHandOff {
  h: Harness;
  jobs: Job[];
  sent: PollMessage[];
  workers: QueueWorkers;
  /** Another instance (a host or a worker): the harness's poller, handing off to the queue. */
  instance(): Poller;
  /**
   * Waits until every message sent was handled; when a job is still uncalled (a late worker leaves its job, on a
   * busy machine), until the claims have expired; then runs the next cycle and returns its report.
   */
  nextCycle(): Promise<CycleReport>;
  stop(): Promise<void>;
}

/**
 * `jobs` Face groups training for an hour on one simulator with `budget`, registered and due; cycles of 6 s with
 * 2 s upstream calls (a 3.4 s call window); the key already read (as after a first cycle); `workers` listeners.
 */
export async function startRealTimeHandOff(options: {
  connectionString: string;
  budget: RateBudget;
  jobs: number;
  prefix: string;
  workers: number;
}): Promise<RealTimeHandOff> {
  const h = await startHarness({
    connectionString: options.connectionString,
    simulators: 1,
    realTime: true,
    budget: options.budget,
    settings: { cycleDeadlineMs: 6_000, upstreamTimeoutMs: 2_000 },
  });
  const jobs = await h.registerTrainingGroups(options.prefix, options.jobs);
  await h.keys.getKey(SECRET);
  const pollQueue = freshPollQueue(options.connectionString, systemClock);
  const instance = (): Poller => h.newPoller({ pollQueue: pollQueue.queue });
  const workers = startQueueWorkers(
    options.connectionString,
    pollQueue.queueName,
    Array.from({ length: options.workers }, instance),
  );
  return {
    h,
    jobs,
    sent: pollQueue.sent,
    workers,
    instance,
    nextCycle: async () => {
      const deadline = Date.now() + 75_000;
      while (workers.outcomes.length < pollQueue.sent.length && Date.now() < deadline) await sleep(200);
      if (new Set(h.sims[0]!.calls.map((c) => c.path)).size < options.jobs) {
        const lastSlot = Math.max(...pollQueue.sent.map((m) => Date.parse(m.slotAt)));
        // A claim holds until its slot + the upstream timeout (2 s), the write margin (0.6 s) and 10 s of delay.
        await sleep(Math.max(0, lastSlot + 2_000 + 600 + 10_000 + 500 - Date.now()));
      }
      return instance().runCycle();
    },
    stop: async () => {
      await workers.stop();
      await h.stop();
    },
  };
}
