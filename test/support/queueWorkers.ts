import { randomBytes, randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import type { FunctionDefinition } from '../../functions/registry';
import { loadHostQueuesExtension, startQueueTriggers } from '../../dev/queueTriggers';
import type { Poller, QueuedOutcome } from '../../shared/poller/poller';
import { createPollQueueClient, StoragePollQueue } from '../../shared/queue/storagePollQueue';
import type { PollMessage, PollQueue } from '../../shared/queue/types';
import type { Clock } from '../../shared/clock';

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
