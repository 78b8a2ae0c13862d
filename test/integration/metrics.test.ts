/**
 * The metrics of docs/spec.md §11 after one cycle with known outcomes, read through an in-memory metric reader:
 * the real poller, TableJobStore on Azurite, Key Vault stand-in and upstream simulators (one resource each).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FACE_ERROR_RESPONSES } from '../../dev/simulator/facePersonGroup';
import type { Services } from '../../functions/buildServices';
import type { Job } from '../../shared/model';
import type { CycleReport } from '../../shared/poller/poller';
import { METRICS } from '../../shared/telemetry';
import { startHarness, stopIdentityEndpoint, T0, type Harness } from '../support/faultHarness';
import { inMemoryMetrics, type MetricReaderForTests, type Point } from '../support/metricReader';

const connectionString = inject('azuriteConnectionString');
const FACE = 'face.personGroup';

let h: Harness;
let m: MetricReaderForTests;
/** Built through the composition root, with the in-memory reader as where the metrics go. */
let services: Services;
let jobs: Job[];
let report: CycleReport;
let points: Point[];

function find(name: string, attributes: Record<string, unknown> = {}): Point[] {
  return points.filter(
    (p) => p.name === name && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
  );
}

beforeAll(async () => {
  // Prepare: sim 0 answers 200 (a running training) and 404 (no such group); sims 1, 2, 3 answer 429, the quota
  // 403 and 503 to every call.
  h = await startHarness({ connectionString, simulators: 4 });
  m = inMemoryMetrics();
  h.sims[0]!.addFaceGroup('running', {
    createdAt: new Date(T0 - 3_600_000),
    trainings: [{ startAt: new Date(T0 - 60_000), durationMs: 3_600_000, outcome: 'succeeded' }],
  });
  for (const [i, id] of [
    [1, 'throttled'],
    [2, 'quota'],
    [3, 'unavailable'],
  ] as const)
    h.sims[i]!.addFaceGroup(id, { createdAt: new Date(T0 - 3_600_000), trainings: [] });
  h.sims[1]!.injectFault({ response: FACE_ERROR_RESPONSES.rateLimited429, times: Infinity });
  h.sims[2]!.injectFault({ response: FACE_ERROR_RESPONSES.quota403, times: Infinity });
  h.sims[3]!.injectFault({
    response: { status: 503, body: { error: { code: 'ServiceUnavailable', message: 'Try later.' } } },
    times: Infinity,
  });
  jobs = await h.register([
    { sim: 0, kind: FACE, personGroupId: 'running' },
    { sim: 0, kind: FACE, personGroupId: 'missing' },
    { sim: 1, kind: FACE, personGroupId: 'throttled' },
    { sim: 2, kind: FACE, personGroupId: 'quota' },
    { sim: 3, kind: FACE, personGroupId: 'unavailable' },
  ]);

  // Act
  services = h.newServices({ metrics: m });
  report = await h.cycleAt(T0, services.poller);
  points = await m.collect();
}, 60_000);

afterAll(async () => {
  await m?.shutdown();
  await h?.stop();
  await stopIdentityEndpoint();
});

describe('metrics of a poll cycle', () => {
  it('counts each poll by kind, resource and outcome', () => {
    expect(report.polled).toBe(5);
    const polls = find(METRICS.polls).map((p) => ({ ...p.attributes, value: p.value }));
    expect(polls).toEqual(
      expect.arrayContaining([
        { kind: FACE, resource: h.resourceOf(0), outcome: 'ok', value: 1 },
        { kind: FACE, resource: h.resourceOf(0), outcome: 'NotFound', value: 1 },
        { kind: FACE, resource: h.resourceOf(1), outcome: 'RateLimited', value: 1 },
        { kind: FACE, resource: h.resourceOf(2), outcome: 'QuotaExceeded', value: 1 },
        { kind: FACE, resource: h.resourceOf(3), outcome: 'UpstreamUnavailable', value: 1 },
      ]),
    );
    expect(polls).toHaveLength(5);
  });

  it('times each upstream call by kind, resource and HTTP status', () => {
    const calls = find(METRICS.upstreamDuration);
    expect(
      calls.map((p) => p.attributes).sort((a, b) => Number(a.httpStatus) - Number(b.httpStatus)),
    ).toEqual([
      { kind: FACE, resource: h.resourceOf(0), httpStatus: 200 },
      { kind: FACE, resource: h.resourceOf(2), httpStatus: 403 },
      { kind: FACE, resource: h.resourceOf(0), httpStatus: 404 },
      { kind: FACE, resource: h.resourceOf(1), httpStatus: 429 },
      { kind: FACE, resource: h.resourceOf(3), httpStatus: 503 },
    ]);
    for (const call of calls) {
      expect(call.count).toBe(1);
      expect(call.sum).toBeGreaterThan(0);
    }
  });

  it('records the cycle: its duration, the jobs polled, handed off and deferred', () => {
    expect(find(METRICS.cycleDuration)).toEqual([
      expect.objectContaining({ attributes: {}, count: 1, sum: Date.parse(report.finishedAt) - T0 }),
    ]);
    expect(find(METRICS.cyclePolled)).toEqual([expect.objectContaining({ attributes: {}, value: 5 })]);
    expect(find(METRICS.cycleHandedOff)).toEqual([expect.objectContaining({ attributes: {}, value: 0 })]);
    expect(find(METRICS.cycleDeferred)).toEqual([expect.objectContaining({ attributes: {}, value: 0 })]);
  });

  it('counts status transitions by kind and new status, and pauses by resource and reason', () => {
    expect(find(METRICS.transitions).map((p) => ({ ...p.attributes, value: p.value }))).toEqual(
      expect.arrayContaining([
        { kind: FACE, status: 'running', value: 1 },
        { kind: FACE, status: 'notFound', value: 1 },
      ]),
    );
    expect(find(METRICS.transitions)).toHaveLength(2);
    expect(find(METRICS.resourcePaused).map((p) => ({ ...p.attributes, value: p.value }))).toEqual(
      expect.arrayContaining([
        { resource: h.resourceOf(1), reason: 'RateLimited', value: 1 },
        { resource: h.resourceOf(2), reason: 'QuotaExceeded', value: 1 },
      ]),
    );
    expect(find(METRICS.resourcePaused)).toHaveLength(2);
  });

  it('records the age of each status read, by kind, from the row the read already has', async () => {
    // Prepare: a status read 90 s after the cycle checked the job.
    const running = jobs[0]!;
    const checkedAt = Date.parse((await h.store.get(running.id))!.state.checkedAt!);
    h.clock.set(checkedAt + 90_000);

    // Act
    const first = await services.api.getStatus(running.id, null);
    const etag = (first.headers as Record<string, string>).etag ?? null;
    const again = await services.api.getStatus(running.id, etag);

    // Assess: both reads (200, then 304) counted, each 90 s old.
    expect(again.status).toBe(304);
    expect(find(METRICS.statusAge)).toEqual([]);
    points = await m.collect();
    expect(find(METRICS.statusAge)).toEqual([
      expect.objectContaining({ attributes: { kind: FACE }, count: 2, sum: 180 }),
    ]);
  });
});
