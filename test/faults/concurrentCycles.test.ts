/**
 * Scenario 3 — two cycles at once: the timer is only a best-effort singleton, so two hosts may run a cycle over
 * the same due jobs at the same moment. Two pollers (two hosts) share the tables, the budgets and the simulators;
 * each due job is claimed by one of them (docs/spec.md §5), so no job is called twice.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { JobStatus } from '../../shared/model';
import type { CycleReport } from '../../shared/poller/poller';
import {
  faceTruth,
  languageTruth,
  MINUTE,
  recordFigures,
  startHarness,
  stopIdentityEndpoint,
  T0,
  type FaceTimeline,
  type Harness,
  type JobSpec,
  type LanguageTimeline,
} from '../support/faultHarness';
import { seededRandom } from '../../dev/virtualClock';

const connectionString = inject('azuriteConnectionString');

const JOBS_PER_RESOURCE = 30;
const ROUNDS = 6;

let h: Harness;
const truth = new Map<string, (at: number) => JobStatus>();
const reports: CycleReport[][] = [];

beforeAll(async () => {
  h = await startHarness({ connectionString, simulators: 2 });
  const random = seededRandom(3);
  const specs: JobSpec[] = [];
  for (let i = 0; i < JOBS_PER_RESOURCE; i++) {
    const startAt = T0 + Math.floor(random() * 90_000);
    const endAt = startAt + 20_000 + Math.floor(random() * 100_000);
    const face: FaceTimeline = { queuedAt: startAt - 5_000, startAt, endAt, outcome: 'succeeded' };
    h.sims[0]!.addFaceGroup(`g-${i}`, {
      createdAt: new Date(T0 - MINUTE),
      trainings: [
        {
          queuedAt: new Date(face.queuedAt),
          startAt: new Date(startAt),
          durationMs: endAt - startAt,
          outcome: 'succeeded',
        },
      ],
    });
    specs.push({ sim: 0, kind: 'face.personGroup', personGroupId: `g-${i}` });
    truth.set(`g-${i}`, (at) => faceTruth(face, at));
    const language: LanguageTimeline = { startAt, endAt, outcome: i % 3 === 0 ? 'failed' : 'succeeded' };
    h.sims[1]!.addLanguageJob('Twice', `j-${i}`, {
      createdAt: new Date(T0 - MINUTE),
      startAt: new Date(startAt),
      durationMs: endAt - startAt,
      outcome: language.outcome,
    });
    specs.push({ sim: 1, kind: 'language.textAuthoring', projectName: 'Twice', jobId: `j-${i}` });
    truth.set(`j-${i}`, (at) => languageTruth(language, at));
  }
  await h.register(specs);

  // Act (shared): every minute, two hosts run a cycle at the same moment.
  const hostA = h.newPoller();
  const hostB = h.newPoller();
  for (let round = 0; round < ROUNDS; round++) {
    h.clock.set(T0 + round * MINUTE);
    reports.push(await Promise.all([hostA.runCycle(), hostB.runCycle()]));
  }
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await stopIdentityEndpoint();
});

describe('two poll cycles at once over the same due jobs', () => {
  it('ends in the state one cycle gives: every status equals the simulated truth', async () => {
    // Prepare
    const at = h.clock.nowMs();

    // Act
    const jobs = (await h.rawStore.list({ top: 100 })).items;

    // Assess
    expect(jobs).toHaveLength(2 * JOBS_PER_RESOURCE);
    const wrong = jobs
      .map((job) => {
        const name = job.identity.personGroupId ?? job.identity.jobId!;
        return { name, stored: job.state.status, truth: truth.get(name)!(at) };
      })
      .filter((j) => j.stored !== j.truth);
    expect(wrong).toEqual([]);
  });

  it('calls each due job once: the claims leave no duplicate call and no lost race', () => {
    // Prepare
    const all = reports.flat();

    // Act: upstream calls per job and minute (a job is due once a minute).
    const perJobMinute = new Map<string, number>();
    for (const sim of h.sims) {
      for (const call of sim.calls) {
        const key = `${call.path} ${Math.floor((call.at.getTime() - T0) / MINUTE)}`;
        perJobMinute.set(key, (perJobMinute.get(key) ?? 0) + 1);
      }
    }
    const duplicateCalls = [...perJobMinute.values()].reduce((n, c) => n + c - 1, 0);
    const figures = {
      rounds: ROUNDS,
      polledA: all.filter((_, i) => i % 2 === 0).reduce((n, r) => n + r.polled, 0),
      polledB: all.filter((_, i) => i % 2 === 1).reduce((n, r) => n + r.polled, 0),
      claimedElsewhere: all.reduce((n, r) => n + r.claimedElsewhere, 0),
      lostRaces: all.reduce((n, r) => n + r.lostRaces, 0),
      duplicateCalls,
      errors: all.reduce((n, r) => n + r.errors, 0),
      upstreamCalls: h.sims.reduce((n, s) => n + s.calls.length, 0),
      maxCallsIn60s: h.sims.map((s) => s.maxCallsInWindow(MINUTE)),
      budget: `${h.budget.calls}/60s`,
    };
    recordFigures('s3-two-cycles', figures);

    // Assess
    expect(figures.duplicateCalls).toBe(0);
    expect(figures.lostRaces).toBe(0);
    expect(figures.claimedElsewhere).toBeGreaterThan(0);
    expect(figures.errors).toBe(0);
    expect(h.logs.filter((l) => l.level === 'error')).toEqual([]);
    for (const max of figures.maxCallsIn60s) expect(max).toBeLessThanOrEqual(h.budget.calls);
  });

  it('writes each transition once and never moves a status backwards', async () => {
    // Prepare
    const order: Record<JobStatus, number> = {
      pending: 0,
      notFound: 0,
      notStarted: 1,
      running: 2,
      cancelling: 3,
      succeeded: 4,
      failed: 4,
      partiallyCompleted: 4,
      cancelled: 4,
    };
    const problems: string[] = [];

    // Act
    for (const job of (await h.rawStore.list({ top: 100 })).items) {
      const history = (await h.rawStore.listHistory(job.id, { top: 100 })).items.reverse();
      for (let i = 1; i < history.length; i++) {
        const [a, b] = [history[i - 1]!, history[i]!];
        if (order[b.status] < order[a.status]) problems.push(`${job.id}: ${a.status} -> ${b.status}`);
        if (a.status === b.status && a.upstreamStatus === b.upstreamStatus)
          problems.push(`${job.id}: ${b.status} twice`);
      }
      if (history.at(-1)?.status !== job.state.status) problems.push(`${job.id}: history ends elsewhere`);
    }

    // Assess
    expect(problems).toEqual([]);
  });
});

describe('a 429 met by one of two hosts polling at once', () => {
  let p: Harness;

  beforeAll(async () => {
    p = await startHarness({ connectionString, simulators: 1 });
    await p.registerTrainingGroups('p', JOBS_PER_RESOURCE);
  }, 60_000);

  afterAll(async () => {
    await p?.stop();
  });

  it('pauses the calls both hosts had scheduled, until the wait has passed', async () => {
    // Prepare: the first call of the cycle answers 429 with Retry-After: 30.
    p.sims[0]!.injectFault({ times: 1, response: { status: 429, headers: { 'retry-after': '30' } } });
    p.clock.set(T0);

    // Act: two hosts, each with slots reserved over the next 30 s.
    const [a, b] = await Promise.all([p.newPoller().runCycle(), p.newPoller().runCycle()]);

    // Assess
    const calls = p.sims[0]!.calls;
    const refused = calls.find((c) => c.status === 429)!;
    const during = calls.filter(
      (c) => c.at.getTime() > refused.at.getTime() && c.at.getTime() < refused.at.getTime() + 30_000,
    );
    recordFigures('s3-two-hosts-429', {
      calls: calls.length,
      refusedAt: refused.at.toISOString(),
      callsDuringPause: during.length,
      afterPause: calls.filter((c) => c.at.getTime() >= refused.at.getTime() + 30_000).length,
      reports: [a, b].map((r) => ({ polled: r.polled, errors: r.errors, upstreamErrors: r.upstreamErrors })),
    });
    expect(refused.at.getTime()).toBe(T0);
    expect(during).toEqual([]);
    expect(a.errors + b.errors).toBe(0); // a 429 is the upstream's answer, not a fault of the service
    expect(a.upstreamErrors + b.upstreamErrors).toBe(1);
  });
});
