/**
 * A hand-off whose send stored its message but lost the answer, in real time (docs/spec.md §5): the cycle's
 * sends cross a proxy that passes them to Azurite's queue and drops the connection before the answer. The stored
 * messages are taken from Azurite by a worker that polls the queue with jitter; the next cycle fires a few ms after
 * the first one's deadline while the worker's calls are under way. Each due job is called once. The virtual-clock
 * scenario is in claims.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTrafficProxy, type TrafficProxy } from '../../dev/trafficProxy';
import { seededRandom } from '../../dev/virtualClock';
import { createPollQueueClient, StoragePollQueue } from '../../shared/queue/storagePollQueue';
import { recordFigures, startHarness, stopIdentityEndpoint, type Harness } from '../support/faultHarness';

const connectionString = inject('azuriteConnectionString');
const queueEndpoint = /QueueEndpoint=([^;]+)/.exec(connectionString)![1]!;
const JOBS = 20;
const DEADLINE_MS = 2_500;

let h: Harness;
let proxy: TrafficProxy;

beforeAll(async () => {
  h = await startHarness({
    connectionString,
    simulators: 1,
    realTime: true,
    budget: { calls: 10, periodMs: 1_000 },
    settings: { cycleDeadlineMs: DEADLINE_MS, upstreamTimeoutMs: 500 },
  });
  proxy = await startTrafficProxy(new URL(queueEndpoint).origin);
  await h.registerTrainingGroups('al', JOBS);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await h?.stop();
  await stopIdentityEndpoint();
});

describe('hand-offs whose messages were stored but whose answers were lost, in real time', () => {
  it('are polled once, by their stored messages, while the next cycle leaves them to their claims', async () => {
    // Prepare: every send reaches the queue and loses its answer; a worker takes the stored messages with jitter,
    // and waits 800 ms before each call, so its calls overlap the next cycle.
    const random = seededRandom(0xa115);
    const queueName = `t${randomBytes(8).toString('hex')}`;
    const proxied = connectionString.replace(
      /QueueEndpoint=[^;]+/,
      `QueueEndpoint=${proxy.origin}/devstoreaccount1`,
    );
    const queue = new StoragePollQueue({
      client: createPollQueueClient({ connectionString: proxied, queueName }),
      clock: h.pollerClock,
    });
    await queue.initialize();
    proxy.setFaults((r) =>
      r.method === 'POST' && r.path.includes('/messages') ? 'forwardThenReset' : 'forward',
    );
    const hostA = h.newPoller({ pollQueue: queue });
    const worker = h.newPoller({
      pollQueue: queue,
      fetchUpstream: (url, options) => sleep(800).then(() => h.fetchUpstream(url, options)),
    });
    const direct = new QueueClient(connectionString, queueName);
    const outcomes: string[] = [];
    const stop = new AbortController();
    const work = (async () => {
      const handled: Promise<void>[] = [];
      while (!stop.signal.aborted) {
        const { receivedMessageItems } = await direct.receiveMessages({ numberOfMessages: 16 });
        for (const item of receivedMessageItems) {
          const body: unknown = JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8'));
          handled.push(
            worker.pollQueued(body, { dequeueCount: item.dequeueCount }).then(async (outcome) => {
              outcomes.push(outcome);
              await direct.deleteMessage(item.messageId, item.popReceipt);
            }),
          );
        }
        await sleep(50 + random() * 100);
      }
      await Promise.all(handled);
    })();

    // Act: the next cycle fires a few ms after the first one's deadline.
    const first = await hostA.runCycle();
    const started = Date.parse(first.startedAt);
    await sleep(Math.max(0, started + DEADLINE_MS + random() * 20 - Date.now()));
    const next = await h.newPoller({ pollQueue: queue }).runCycle();
    await sleep(1_500);
    stop.abort();
    await work;
    const perGroup = new Map<string, number>();
    for (const call of h.sims[0]!.calls) {
      const group = /persongroups\/([^/]+)\//i.exec(call.path)?.[1] ?? call.path;
      perGroup.set(group, (perGroup.get(group) ?? 0) + 1);
    }
    const calledTwice = [...perGroup].filter(([, n]) => n > 1).map(([g]) => g);
    recordFigures('hand-off-answer-lost-real-time', {
      first: {
        polled: first.polled,
        handedOff: first.handedOff,
        deferred: first.deferred,
        errors: first.errors,
      },
      next: { polled: next.polled, claimedElsewhere: next.claimedElsewhere },
      stored: (await direct.getProperties()).approximateMessagesCount,
      workerOutcomes: outcomes,
      calls: h.sims[0]!.calls.length,
      calledTwice,
    });

    // Assess
    expect(calledTwice).toEqual([]);
    expect(first.handedOff).toBe(0);
    expect(first.deferred).toBeGreaterThan(0);
    // What the cycle deferred: its lost hand-offs, polled by the worker from their stored messages, and any job it
    // could not call in its window on a busy machine, whose claim it dropped for the next cycle.
    expect(outcomes.filter((o) => o === 'polled').length + next.polled).toBe(first.deferred);
    expect(perGroup.size).toBe(JOBS);
  });
});
