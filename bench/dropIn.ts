/**
 * Benchmark D — drop-in reads (docs/spec.md §13). 100 apps wait with the `@azure-rest/ai-vision-face` long-running-
 * operation poller on 10 person-group trainings (10 apps per training), in real time:
 *   - directly: each app polls the operation its train request named on the upstream simulator, at the SDK's
 *     default interval (2 s), against Face S0's 10 calls/s per resource;
 *   - through the drop-in: the same pollers read the training status through the cache (the app in its own process
 *     as `npm start` runs it, the timer every second, each job checked every `intervalSeconds`), waiting the
 *     `Retry-After` it answers; the train requests go to the upstream as before.
 * Figures: upstream calls in each world (every call the simulator received, 429s included, train requests
 * excluded), the 429s the apps received, and afterwards the drop-in read's p50/p99 against the cached status route
 * (`GET /api/jobs/{id}/status`) on the same host, in paired interleaved rounds.
 */
import http from 'node:http';
import createFaceClient, { getLongRunningPoller } from '@azure-rest/ai-vision-face';
import { startTrafficProxy } from '../dev/trafficProxy';
import { startUpstreamSimulator, type UpstreamSimulator } from '../dev/upstreamSimulator';
import { figure, median, percentile, sleep, startService, type BenchOptions, type Figure } from './common';
import { httpGet } from './load';

const BENCH = 'D drop-in reads';
const KEY = 'bench-drop-in-key';
const TRAININGS = 10;
const APPS_PER_TRAINING = 10;
/** Face S0: 10 transactions per second per resource. */
const FACE_S0 = { calls: 10, periodMs: 1_000 };

type FaceRestClient = ReturnType<typeof createFaceClient>;

interface World {
  /** Calls the upstream received (train requests excluded). */
  upstreamCalls: number;
  /** 429 answers the apps received. */
  appTooMany: number;
  /** Apps whose poller ended in another state than succeeded. */
  appsNotSucceeded: number;
  /** ms from each training's end to each of its apps' poller finishing. */
  finishDelays: number[];
  /** Pollers started again by their app after they gave up on a 429. */
  restarts: number;
}

export async function benchDropIn({ quick, log }: BenchOptions): Promise<Figure[]> {
  const trainMs = quick ? 40_000 : 120_000;
  const intervalSeconds = quick ? 10 : 30;
  const cached = await startUpstreamSimulator({ keys: [KEY], rateLimit: FACE_S0 });
  const direct = await startUpstreamSimulator({ keys: [KEY], rateLimit: FACE_S0 });
  const stops: (() => Promise<void>)[] = [() => cached.stop(), () => direct.stop()];
  try {
    const resource = new URL(cached.origin).host;
    const host = await startService(
      'dropInHost',
      {
        ALLOWED_UPSTREAM_HOSTS: cached.origin,
        UPSTREAM_RATE_LIMITS: `${resource}=600/min`,
        POLL_SCHEDULE: '* * * * * *',
        UPSTREAM_TIMEOUT_SECONDS: '5',
      },
      { key: KEY },
    );
    stops.unshift(() => host.stop());
    const hostUrl = String(host.ready.url).replace('localhost', '127.0.0.1');
    const secretName = String(host.ready.secretName);
    const apps = await startTrafficProxy(hostUrl);
    stops.unshift(() => apps.stop());

    log(
      `  ${TRAININGS} trainings of ${trainMs / 1000} s, ${TRAININGS * APPS_PER_TRAINING} apps in each world`,
    );
    const [viaCache, viaUpstream] = await Promise.all([
      dropInWorld(cached, hostUrl, apps.origin, secretName, trainMs, intervalSeconds),
      directWorld(direct, trainMs),
    ]);
    const appTooManyViaCache = apps.requests.filter((r) => r.status === 429).length;
    log(`  pollers done: ${apps.requests.length} drop-in reads by the apps; measuring read latency`);

    const latency = await readLatency(hostUrl, resource, viaCache.jobs, quick);
    const delays = (w: World): string =>
      `${(median(w.finishDelays) / 1000).toFixed(1)} s / ${(Math.max(...w.finishDelays) / 1000).toFixed(1)} s`;
    const apps100 = TRAININGS * APPS_PER_TRAINING;
    return [
      figure({
        benchmark: BENCH,
        name: `${apps100} SDK pollers on ${TRAININGS} trainings of ${trainMs / 1000} s: upstream calls through the drop-in`,
        measured: viaCache.world.upstreamCalls,
        unit: 'calls',
        baseline: { value: viaUpstream.upstreamCalls, label: 'the pollers on the upstream' },
        ratio: viaUpstream.upstreamCalls / Math.max(1, viaCache.world.upstreamCalls),
        target: { on: 'ratio', op: '>=', limit: 50 },
        note:
          `ratio = calls saved (direct ÷ drop-in); jobs checked every ${intervalSeconds} s; the apps sent ` +
          `${apps.requests.length} drop-in reads; a poller finished after its training ended by ` +
          `${delays(viaCache.world)} (p50 / max) through the drop-in, ${delays(viaUpstream)} directly; ` +
          `pollers not ending in succeeded: ${viaCache.world.appsNotSucceeded} through the drop-in, ` +
          `${viaUpstream.appsNotSucceeded} directly, where ${viaUpstream.restarts} pollers gave up on a 429 and ` +
          `were started again`,
      }),
      figure({
        benchmark: BENCH,
        name: `429s received by the ${apps100} apps through the drop-in`,
        measured: appTooManyViaCache,
        unit: '429s',
        target: { on: 'value', op: '<=', limit: 0 },
        note: `the same pollers on the upstream received ${viaUpstream.appTooMany} 429s (Face S0, 10 calls/s)`,
      }),
      ...(['p50', 'p99'] as const).map((p) =>
        figure({
          benchmark: BENCH,
          name: `c=${latency.concurrency} drop-in read ${p}`,
          measured: latency[p].measured,
          unit: 'ms',
          baseline: { value: latency[p].baseline, label: 'GET /api/jobs/{id}/status' },
          ratio: latency[p].ratio,
          target: { on: 'ratio', op: '<=', limit: 1.15 },
          note:
            p === 'p50'
              ? `median of ${latency.rounds} interleaved rounds' ratios, each round ${latency.concurrency} clients × ` +
                `the same number of pairs (${latency.samples} requests in all); ${latency.errors} failed requests`
              : `median of the rounds' p99 ratios; over all rounds merged: ` +
                `${latency.merged99.measured.toFixed(1)} ms vs ${latency.merged99.baseline.toFixed(1)} ms, ` +
                `${latency.merged99.ratio.toFixed(3)}×`,
        }),
      ),
    ];
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
  }
}

function faceClient(endpoint: string): FaceRestClient {
  return createFaceClient(endpoint, { key: KEY }, { apiVersion: 'v1.2', allowInsecureConnection: true });
}

/** Adds the person groups, each training for `trainMs` when a train request arrives. */
function addGroups(sim: UpstreamSimulator, prefix: string, trainMs: number): string[] {
  const ids = Array.from({ length: TRAININGS }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) {
    sim.addFaceGroup(id, {
      createdAt: new Date(Date.now() - 86_400_000),
      trainings: [],
      trainDurationMs: trainMs,
    });
  }
  return ids;
}

async function train(client: FaceRestClient, personGroupId: string) {
  const response = await client.path('/persongroups/{personGroupId}/train', personGroupId).post();
  if (response.status !== '202') throw new Error(`train ${personGroupId} answered ${response.status}`);
  return response;
}

/** Runs `APPS_PER_TRAINING` pollers on one training; collects when and how they finished. */
async function waitAll(
  world: World,
  endsAt: number,
  poll: () => Promise<{ succeeded: boolean }>,
): Promise<void> {
  await Promise.all(
    Array.from({ length: APPS_PER_TRAINING }, async () => {
      const { succeeded } = await poll().catch(() => ({ succeeded: false }));
      world.finishDelays.push(Date.now() - endsAt);
      if (!succeeded) world.appsNotSucceeded++;
    }),
  );
}

function emptyWorld(): World {
  return { upstreamCalls: 0, appTooMany: 0, appsNotSucceeded: 0, finishDelays: [], restarts: 0 };
}

/** The apps poll the operations their train requests named, on the upstream. */
async function directWorld(sim: UpstreamSimulator, trainMs: number): Promise<World> {
  const world = emptyWorld();
  const client = faceClient(sim.origin);
  // Every training is requested before any app polls (the pollers would take the resource's whole rate).
  const trainings: { trained: Awaited<ReturnType<typeof train>>; endsAt: number }[] = [];
  for (const id of addGroups(sim, 'direct', trainMs)) {
    trainings.push({ trained: await train(client, id), endsAt: Date.now() + trainMs });
  }
  await Promise.all(
    trainings.map(({ trained, endsAt }) =>
      // An app whose poller gave up on a 429 (after the pipeline's own retries) starts polling again.
      waitAll(world, endsAt, async () => {
        for (;;) {
          const poller = await getLongRunningPoller(client, trained);
          const result = await poller.pollUntilDone();
          if (result.status !== '429')
            return { succeeded: poller.getOperationState().status === 'succeeded' };
          world.restarts++;
        }
      }),
    ),
  );
  const polls = sim.calls.filter((c) => c.method === 'GET');
  world.upstreamCalls = polls.length;
  world.appTooMany = polls.filter((c) => c.status === 429).length;
  return world;
}

/** The jobs the cache holds: registration id, person group id. */
interface CachedJob {
  id: string;
  personGroupId: string;
}

/** The train requests go to the upstream; the apps' pollers read the training status through the drop-in. */
async function dropInWorld(
  sim: UpstreamSimulator,
  hostUrl: string,
  appsOrigin: string,
  secretName: string,
  trainMs: number,
  intervalSeconds: number,
): Promise<{ world: World; jobs: CachedJob[] }> {
  const world = emptyWorld();
  const upstream = faceClient(sim.origin);
  const dropIn = faceClient(`${appsOrigin}/api/upstream/${new URL(sim.origin).host}`);
  // Each app trains on the upstream, then registers its job; the pollers start once the timer has checked them.
  const prepared: { job: CachedJob; trained: Awaited<ReturnType<typeof train>>; endsAt: number }[] = [];
  for (const personGroupId of addGroups(sim, 'cached', trainMs)) {
    const trained = await train(upstream, personGroupId);
    const endsAt = Date.now() + trainMs;
    const id = await register(hostUrl, {
      kind: 'face.personGroup',
      personGroupId,
      endpoint: sim.origin,
      keySecretName: secretName,
      pollIntervalSeconds: intervalSeconds,
    });
    prepared.push({ job: { id, personGroupId }, trained, endsAt });
  }
  await Promise.all(prepared.map(({ job }) => untilChecked(hostUrl, job.id)));
  await Promise.all(
    prepared.map(({ job, trained, endsAt }) =>
      waitAll(world, endsAt, async () => {
        const poller = await getLongRunningPoller(dropIn, {
          ...trained,
          headers: {
            ...trained.headers,
            'operation-location': `/persongroups/${job.personGroupId}/training`,
          },
        });
        await poller.pollUntilDone();
        return { succeeded: poller.getOperationState().status === 'succeeded' };
      }),
    ),
  );
  const jobs = prepared.map((p) => p.job);
  world.upstreamCalls = sim.calls.filter((c) => c.method === 'GET').length;
  return { world, jobs };
}

async function register(hostUrl: string, body: Record<string, unknown>): Promise<string> {
  const registered = await fetch(`${hostUrl}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const { id } = (await registered.json()) as { id?: string };
  if (!registered.ok || !id) throw new Error(`registration answered ${registered.status}`);
  return id;
}

/** Waits until the timer has checked the job once (its upstream answer is cached). */
async function untilChecked(hostUrl: string, id: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const response = await fetch(`${hostUrl}/api/jobs/${id}/status`);
    const { checkedAt } = (await response.json()) as { checkedAt?: string | null };
    if (checkedAt) return;
    await sleep(200);
  }
  throw new Error(`job ${id} was not checked within a minute`);
}

interface Paired {
  measured: number;
  baseline: number;
  ratio: number;
}

/**
 * The drop-in read against the cached status route on the same host and jobs, interleaved: in each round every one
 * of `concurrency` closed-loop clients sends the same number of pairs (one request of each route, in an order that
 * alternates per client and per pair), so at any moment about half the requests in flight are of each route and
 * whatever else the machine does falls on both alike. One warm-up round of both is not counted. p50: the median of
 * the rounds' p50 ratios; p99 alike, the median of the rounds' p99 ratios (a round holds 200 requests of each route:
 * a stall that hits one route in one round does not decide the figure); the p99 of all rounds merged is reported too.
 */
async function readLatency(
  hostUrl: string,
  resource: string,
  jobs: readonly CachedJob[],
  quick: boolean,
): Promise<{
  concurrency: number;
  rounds: number;
  errors: number;
  samples: number;
  p50: Paired;
  p99: Paired;
  /** p99 over all rounds merged. */
  merged99: Paired;
}> {
  const concurrency = 4;
  const rounds = quick ? 9 : 21;
  const pairsPerClient = 50;
  const { port } = new URL(hostUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const n = jobs.length;
    // A GET that fails unless answered 200 (the load generator counts failures).
    const get200 = async (path: string, headers: Record<string, string> = {}): Promise<void> => {
      const status = await httpGet(agent, Number(port), path, headers);
      if (status !== 200) throw new Error(`${path} answered ${status}`);
    };
    const ops: Record<Variant, (i: number) => Promise<void>> = {
      dropIn: (i) =>
        get200(`/api/upstream/${resource}/face/v1.2/persongroups/${jobs[i % n]!.personGroupId}/training`, {
          'Ocp-Apim-Subscription-Key': KEY,
        }),
      status: (i) => get200(`/api/jobs/${jobs[i % n]!.id}/status`),
    };
    await pairedRound(ops, concurrency, pairsPerClient); // warm-up
    const measured: Record<Variant, number[][]> = { dropIn: [], status: [] };
    let errors = 0;
    for (let round = 0; round < rounds; round++) {
      const r = await pairedRound(ops, concurrency, pairsPerClient);
      measured.dropIn.push(r.dropIn);
      measured.status.push(r.status);
      errors += r.errors;
    }
    const sorted = (values: readonly number[]): Float64Array => Float64Array.from(values).sort();
    const m50 = measured.dropIn.map((l) => percentile(sorted(l), 50));
    const b50 = measured.status.map((l) => percentile(sorted(l), 50));
    const p50 = {
      measured: median(m50),
      baseline: median(b50),
      ratio: median(m50.map((v, i) => v / b50[i]!)),
    };
    const m99 = measured.dropIn.map((l) => percentile(sorted(l), 99));
    const b99 = measured.status.map((l) => percentile(sorted(l), 99));
    const merged99 = {
      measured: percentile(sorted(measured.dropIn.flat()), 99),
      baseline: percentile(sorted(measured.status.flat()), 99),
    };
    const samples = measured.dropIn.flat().length + measured.status.flat().length;
    return {
      concurrency,
      rounds,
      errors,
      samples,
      p50,
      p99: { measured: median(m99), baseline: median(b99), ratio: median(m99.map((v, i) => v / b99[i]!)) },
      merged99: { ...merged99, ratio: merged99.measured / merged99.baseline },
    };
  } finally {
    agent.destroy();
  }
}

type Variant = 'dropIn' | 'status';

/** One round: each client sends `pairs` pairs; the latencies (ms) of each route, and the failed requests. */
async function pairedRound(
  ops: Record<Variant, (i: number) => Promise<void>>,
  concurrency: number,
  pairs: number,
): Promise<Record<Variant, number[]> & { errors: number }> {
  const latencies: Record<Variant, number[]> = { dropIn: [], status: [] };
  let errors = 0;
  let counter = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      for (let pair = 0; pair < pairs; pair++) {
        const i = counter++;
        const order: Variant[] = (client + pair) % 2 === 0 ? ['dropIn', 'status'] : ['status', 'dropIn'];
        for (const variant of order) {
          const started = performance.now();
          try {
            await ops[variant](i);
            latencies[variant].push(performance.now() - started);
          } catch {
            errors++;
          }
        }
      }
    }),
  );
  return { ...latencies, errors };
}
