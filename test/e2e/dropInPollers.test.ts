/**
 * Pollers wait on a real training through the drop-in routes (docs/spec.md §13), in real time with the timer on its
 * schedule: the `@azure-rest/ai-vision-face` long-running-operation poller and a plain REST poller written from the
 * Document Intelligence example. They finish when the simulated training does, and send at most one request per
 * `Retry-After` (counted at a proxy in front of the cache).
 *
 * How the Face SDK splits: the train request is a write and goes to the upstream as before. Its 202 names the
 * operation to poll in `operation-Location`, an absolute `/face/v1.2/operations/{id}` URL on the upstream, which is
 * not a docs/spec.md §2 path: pointing the client's endpoint at the cache cannot move those polls. The app keeps the
 * SDK's poller and gives it the training-status path, read through a client on the drop-in endpoint.
 */
import createFaceClient, { getLongRunningPoller, isUnexpected } from '@azure-rest/ai-vision-face';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTrafficProxy, type ProxiedRequest, type TrafficProxy } from '../../dev/trafficProxy';
import { dropInBase } from '../support/dropIn';
import { CANARY_KEY, startTestStack, type TestStack } from '../support/testStack';

const anyString: unknown = expect.any(String);
let t: TestStack;
/** In front of the cache: every request the apps send to the drop-in, with its time and `Retry-After`. */
let cache: TrafficProxy;

beforeAll(async () => {
  t = await startTestStack({
    simulators: { face: {}, docs: {} },
    settings: { POLL_SCHEDULE: '* * * * * *' },
    runTimers: true,
  });
  cache = await startTrafficProxy(t.url);
}, 120_000);

afterAll(async () => {
  await cache?.stop();
  await t?.stop();
});

function faceClient(endpoint: string): ReturnType<typeof createFaceClient> {
  return createFaceClient(
    endpoint,
    { key: CANARY_KEY },
    { apiVersion: 'v1.2', allowInsecureConnection: true },
  );
}

/** A person group created a day ago whose train requests run `trainDurationMs`. */
function addGroup(personGroupId: string, trainDurationMs: number): void {
  t.sims.face!.addFaceGroup(personGroupId, {
    createdAt: new Date(Date.now() - 86_400_000),
    trainings: [],
    trainDurationMs,
  });
}

/** Each request was sent no sooner than the `Retry-After` of the answer before it. */
function gapsShorterThanRetryAfter(requests: ProxiedRequest[]): string[] {
  const early: string[] = [];
  for (let i = 1; i < requests.length; i++) {
    const previous = requests[i - 1]!;
    const waitMs = Number(previous.retryAfter ?? 0) * 1000;
    const gapMs = requests[i]!.at - previous.at;
    if (gapMs < waitMs - 50)
      early.push(`${previous.path}: ${gapMs} ms after Retry-After ${previous.retryAfter}`);
  }
  return early;
}

/** Registers the job and waits until the timer has checked it once (its upstream answer is cached). */
async function registerAndWaitForCheck(sim: string, fields: Record<string, unknown>): Promise<void> {
  const id = await t.register(sim, { ...fields, pollIntervalSeconds: 10 });
  for (let i = 0; i < 100; i++) {
    const { checkedAt } = (await t.call(`/api/jobs/${id}/status`)).body as { checkedAt?: string | null };
    if (checkedAt) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`job ${id} was not checked within 20 s`);
}

describe('pollers waiting on a training', () => {
  it('the Face LRO poller finishes with the simulated training when it polls the upstream', async () => {
    // Prepare
    const personGroupId = 'lro-direct';
    addGroup(personGroupId, 1_500);
    const client = faceClient(t.sims.face!.origin);
    const trainedAt = Date.now();

    // Act
    const train = await client.path('/persongroups/{personGroupId}/train', personGroupId).post();
    const poller = await getLongRunningPoller(client, train, { intervalInMs: 250 });
    const result = await poller.pollUntilDone();

    // Assess
    expect(train.status).toBe('202');
    expect(poller.getOperationState().status).toBe('succeeded');
    expect(result.status).toBe('200');
    expect(result.body).toMatchObject({ status: 'succeeded', finishedTime: anyString });
    expect(Date.now() - trainedAt).toBeGreaterThanOrEqual(1_500);
    const operationPolls = t.sims.face!.calls.filter((c) => c.path.includes('/operations/'));
    expect(operationPolls.length).toBeGreaterThanOrEqual(2);
  });

  it('the Face LRO poller and a REST poller finish through the drop-in, one request per Retry-After', async () => {
    // Prepare: a training of 12 s started by a write to the upstream, and a model build of 12 s.
    const personGroupId = 'lro-drop-in';
    addGroup(personGroupId, 12_000);
    const upstream = faceClient(t.sims.face!.origin);
    const dropIn = faceClient(dropInBase(cache.origin, t.sims.face!.origin));
    const train = await upstream.path('/persongroups/{personGroupId}/train', personGroupId).post();
    if (train.status !== '202') throw new Error(`train answered ${train.status}`);
    await registerAndWaitForCheck('face', { kind: 'face.personGroup', personGroupId });
    const operationId = 'build-drop-in';
    const now = Date.now();
    t.sims.docs!.addJob(
      'documentIntelligence.modelBuild',
      { operationId },
      { createdAt: new Date(now), startAt: new Date(now), durationMs: 12_000, outcome: 'succeeded' },
    );
    await registerAndWaitForCheck('docs', { kind: 'documentIntelligence.modelBuild', operationId });
    cache.resetCount();
    const trainingPath = `/persongroups/${personGroupId}/training`;

    // Act
    const facePoller = getLongRunningPoller(dropIn, {
      ...train,
      headers: { ...train.headers, 'operation-location': trainingPath },
    }).then((poller) => poller.pollUntilDone());
    const restPoller = pollLikeTheRestExample(
      `${dropInBase(cache.origin, t.sims.docs!.origin)}/documentintelligence/operations/${operationId}?api-version=2024-11-30`,
    );
    const [faceResult, restResult] = await Promise.all([facePoller, restPoller]);
    const finishedAt = Date.now();

    // Assess
    if (isUnexpected(faceResult)) throw new Error(`unexpected answer ${faceResult.status}`);
    expect(faceResult.body).toMatchObject({ status: 'succeeded' });
    expect(restResult).toMatchObject({ status: 'succeeded', percentCompleted: 100 });
    expect(finishedAt - now).toBeGreaterThanOrEqual(12_000);
    const faceReads = cache.requests.filter((r) => r.path.endsWith(trainingPath));
    const restReads = cache.requests.filter((r) => r.path.includes(operationId));
    expect(gapsShorterThanRetryAfter(faceReads)).toEqual([]);
    expect(gapsShorterThanRetryAfter(restReads)).toEqual([]);
    expect(faceReads.every((r) => r.status === 200)).toBe(true);
    expect(faceReads.slice(0, -1).every((r) => Number(r.retryAfter) >= 1)).toBe(true);
    // A 12 s training checked every 10 s: a handful of reads each, not one per SDK default interval (2 s).
    expect(faceReads.length).toBeLessThanOrEqual(5);
    expect(restReads.length).toBeLessThanOrEqual(5);
  }, 60_000);
});

/**
 * The Document Intelligence REST example's loop: GET the operation with the key, stop on a terminal status, wait
 * `Retry-After` seconds (1 s when absent) between requests.
 */
async function pollLikeTheRestExample(url: string): Promise<Record<string, unknown>> {
  for (;;) {
    const response = await fetch(url, { headers: { 'Ocp-Apim-Subscription-Key': CANARY_KEY } });
    const body = (await response.json()) as Record<string, unknown>;
    if (response.status !== 200) throw new Error(`answered ${response.status}`);
    if (['succeeded', 'failed', 'canceled'].includes(String(body.status))) return body;
    const waitSeconds = Number(response.headers.get('retry-after') ?? 1);
    await new Promise((resolve) => setTimeout(resolve, waitSeconds * 1000));
  }
}
