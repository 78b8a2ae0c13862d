/**
 * Scenario 1 — a 429 storm: 500 jobs over 10 resources; for three simulated minutes half of the jobs answer 429
 * (with Retry-After, with retry-after-ms headers, with only the Face body hint, or with no hint at all).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Fault } from '../../dev/upstreamSimulator';
import type { JobStatus } from '../../shared/model';
import {
  callsPerWindow,
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

const RESOURCES = 10;
const JOBS_PER_RESOURCE = 50;
const STORM_FROM = T0 + 1 * MINUTE;
const STORM_TO = T0 + 4 * MINUTE;
const CYCLES = 7; // minutes 0..6: the storm ends at 4:00, then two intervals

/** How each resource answers 429 during the storm, and the least wait that answer asks for. */
const STYLES: { name: string; response: Fault['response']; minWaitMs: number }[] = [
  {
    name: 'Retry-After: 20',
    response: {
      status: 429,
      headers: { 'retry-after': '20' },
      body: { error: { statusCode: 429, message: 'Rate limit is exceeded.' } },
    },
    minWaitMs: 20_000,
  },
  {
    name: 'Face body "Try again in 15 seconds"',
    response: {
      status: 429,
      body: { error: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 15 seconds.' } },
    },
    minWaitMs: 15_000,
  },
  {
    name: 'x-ms-retry-after-ms: 25000',
    response: {
      status: 429,
      headers: { 'x-ms-retry-after-ms': '25000' },
      body: { error: { code: 'TooManyRequests', message: 'Rate limit is exceeded.' } },
    },
    minWaitMs: 25_000,
  },
  {
    name: 'no hint',
    response: {
      status: 429,
      body: { error: { code: 'TooManyRequests', message: 'Rate limit is exceeded.' } },
    },
    // The poller's own exponential backoff starts at 10 s.
    minWaitMs: 10_000,
  },
];
/** Resources 0-4 serve Face groups, 5-9 Language jobs; the body hint is a Face one. */
const STYLE_OF = [0, 0, 1, 1, 1, 2, 0, 3, 3, 3];

let h: Harness;
const timelines = new Map<string, { face?: FaceTimeline; language?: LanguageTimeline; sim: number }>();
const reports: Awaited<ReturnType<Harness['cycleAt']>>[] = [];
const realMsPerCycle: number[] = [];

beforeAll(async () => {
  h = await startHarness({ connectionString, simulators: RESOURCES });
  const random = seededRandom(1);
  const specs: JobSpec[] = [];
  for (let sim = 0; sim < RESOURCES; sim++) {
    for (let i = 0; i < JOBS_PER_RESOURCE; i++) {
      // Half of the jobs of each resource are hit by the storm ("storm" in their path).
      const name = `r${sim}-${i}-${i % 2 === 0 ? 'storm' : 'calm'}`;
      const startAt = T0 + Math.floor(random() * 120_000);
      const endAt = startAt + 30_000 + Math.floor(random() * 90_000);
      const outcomeRoll = random();
      if (sim < 5) {
        const face: FaceTimeline = {
          queuedAt: startAt - 10_000,
          startAt,
          endAt,
          outcome: outcomeRoll < 0.8 ? 'succeeded' : 'failed',
        };
        h.sims[sim]!.addFaceGroup(name, {
          createdAt: new Date(T0 - 10 * MINUTE),
          trainings: [
            {
              queuedAt: new Date(face.queuedAt),
              startAt: new Date(startAt),
              durationMs: endAt - startAt,
              outcome: face.outcome,
            },
          ],
        });
        specs.push({ sim, kind: 'face.personGroup', personGroupId: name });
        timelines.set(`${sim}/${name}`, { face, sim });
      } else {
        const language: LanguageTimeline = {
          startAt,
          endAt,
          outcome: outcomeRoll < 0.7 ? 'succeeded' : outcomeRoll < 0.85 ? 'failed' : 'partiallyCompleted',
        };
        h.sims[sim]!.addLanguageJob('Storm', name, {
          createdAt: new Date(T0 - MINUTE),
          startAt: new Date(startAt),
          durationMs: endAt - startAt,
          outcome: language.outcome,
        });
        specs.push({ sim, kind: 'language.textAuthoring', projectName: 'Storm', jobId: name });
        timelines.set(`${sim}/${name}`, { language, sim });
      }
    }
  }
  await h.register(specs);

  // Act (shared by the tests below): one cycle a minute; the storm from 1:00 to 4:00.
  const poller = h.newPoller();
  for (let minute = 0; minute < CYCLES; minute++) {
    const at = T0 + minute * MINUTE;
    if (at === STORM_FROM) {
      for (let sim = 0; sim < RESOURCES; sim++) {
        h.sims[sim]!.injectFault({
          match: { path: /-storm(\/|\?|$)/ },
          times: Infinity,
          response: STYLES[STYLE_OF[sim]!]!.response,
        });
      }
    }
    if (at === STORM_TO) for (const sim of h.sims) sim.clearFaults();
    const started = performance.now();
    reports.push(await h.cycleAt(at, poller));
    realMsPerCycle.push(Math.round(performance.now() - started));
  }
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await stopIdentityEndpoint();
});

describe('a 429 storm over 10 resources and 500 jobs', () => {
  it('loses no status: every stored status equals the simulated truth two intervals after the storm', async () => {
    // Prepare
    const checkAt = h.clock.nowMs();
    let lost = 0;
    let checked = 0;
    const wrong: string[] = [];

    // Act
    for (let sim = 0; sim < RESOURCES; sim++) {
      for (let page = await h.rawStore.list({ top: 100 }); ;) {
        for (const job of page.items) {
          if (job.endpoint !== h.sims[sim]!.origin) continue;
          const name = job.identity.personGroupId ?? job.identity.jobId ?? '';
          const t = timelines.get(`${sim}/${name}`)!;
          const truth: JobStatus = t.face ? faceTruth(t.face, checkAt) : languageTruth(t.language!, checkAt);
          checked++;
          if (job.state.status !== truth) {
            lost++;
            wrong.push(
              `${name}: stored ${job.state.status}, truth ${truth}, error ${job.state.lastError?.code}`,
            );
          }
        }
        if (!page.continuationToken) break;
        page = await h.rawStore.list({ top: 100, continuationToken: page.continuationToken });
      }
    }

    // Assess
    recordFigures('s1-storm-statuses', {
      jobs: checked,
      statusesLost: lost,
      checkedAtMinutesAfterStormEnd: (checkAt - STORM_TO) / MINUTE,
      cycles: reports.map((r, i) => ({
        minute: i,
        polled: r.polled,
        errors: r.errors,
        deferred: r.deferred,
        realMs: realMsPerCycle[i],
      })),
    });
    expect(checked).toBe(RESOURCES * JOBS_PER_RESOURCE);
    expect(wrong).toEqual([]);
  });

  it('never calls a resource above its budget, and never before the wait a 429 asked for', () => {
    // Prepare
    const overBudget: string[] = [];
    const early: string[] = [];
    const perResource: Record<string, unknown>[] = [];

    // Act
    for (let sim = 0; sim < RESOURCES; sim++) {
      const s = h.sims[sim]!;
      const maxInWindow = s.maxCallsInWindow(h.budget.periodMs);
      if (maxInWindow > h.budget.calls) overBudget.push(`resource ${sim}: ${maxInWindow}`);
      const calls = [...s.calls].sort((a, b) => a.at.getTime() - b.at.getTime());
      const minWait = STYLES[STYLE_OF[sim]!]!.minWaitMs;
      let shortestGap = Infinity;
      calls.forEach((call, i) => {
        if (call.status !== 429) return;
        const next = calls[i + 1];
        if (next === undefined) return;
        const gap = next.at.getTime() - call.at.getTime();
        shortestGap = Math.min(shortestGap, gap);
        if (gap < minWait) early.push(`resource ${sim}: call ${gap} ms after a 429 asking for ${minWait} ms`);
      });
      const stormCalls = calls.filter((c) => c.at.getTime() >= STORM_FROM && c.at.getTime() < STORM_TO);
      perResource.push({
        resource: sim,
        style: STYLES[STYLE_OF[sim]!]!.name,
        calls: calls.length,
        maxCallsIn60s: maxInWindow,
        budget: `${h.budget.calls}/60s`,
        stormCalls: stormCalls.length,
        storm429: stormCalls.filter((c) => c.status === 429).length,
        shortestGapAfter429Ms: shortestGap === Infinity ? null : shortestGap,
      });
    }

    // Assess
    recordFigures('s1-storm-budget', { perResource });
    expect(overBudget).toEqual([]);
    expect(early).toEqual([]);
    // The storm really happened: about half of the storm's calls were refused.
    const storm = perResource.reduce<{ calls: number; refused: number }>(
      (sum, r) => ({
        calls: sum.calls + (r.stormCalls as number),
        refused: sum.refused + (r.storm429 as number),
      }),
      { calls: 0, refused: 0 },
    );
    expect(storm.refused).toBeGreaterThan(storm.calls * 0.2);
  });

  it('makes no tight retry loop: calls per minute stay within the budget and below the calm rate', () => {
    // Prepare
    const rows: { resource: number; perMinute: number[]; refusedPerMinute: number[] }[] = [];

    // Act
    for (let sim = 0; sim < RESOURCES; sim++) {
      const s = h.sims[sim]!;
      const perMinute = callsPerWindow(s, MINUTE, T0, T0 + CYCLES * MINUTE);
      const refusedPerMinute = perMinute.map(
        (_, m) =>
          s.calls.filter(
            (c) =>
              c.status === 429 && c.at.getTime() >= T0 + m * MINUTE && c.at.getTime() < T0 + (m + 1) * MINUTE,
          ).length,
      );
      rows.push({ resource: sim, perMinute, refusedPerMinute });
    }

    // Assess
    recordFigures('s1-storm-rate', { rows });
    for (const row of rows) {
      const calm = row.perMinute[0]!; // every job's first poll
      for (const [minute, calls] of row.perMinute.entries()) {
        expect(calls, `resource ${row.resource} minute ${minute}`).toBeLessThanOrEqual(h.budget.calls);
        expect(calls, `resource ${row.resource} minute ${minute}`).toBeLessThanOrEqual(calm);
      }
      // A refused call stops the resource's calls until the wait has passed: a few 429s a minute at most.
      for (const refused of row.refusedPerMinute) expect(refused).toBeLessThanOrEqual(6);
    }
  });

  it('keeps every history free of regressions and duplicate transitions', async () => {
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
    let entries = 0;

    // Act
    for (let page = await h.rawStore.list({ top: 100 }); ;) {
      for (const job of page.items) {
        const history = (await h.rawStore.listHistory(job.id, { top: 100 })).items.reverse();
        entries += history.length;
        for (let i = 1; i < history.length; i++) {
          const [a, b] = [history[i - 1]!, history[i]!];
          if (order[b.status] < order[a.status]) problems.push(`${job.id}: ${a.status} -> ${b.status}`);
          if (a.status === b.status && a.upstreamStatus === b.upstreamStatus)
            problems.push(`${job.id}: duplicate ${b.status}`);
        }
      }
      if (!page.continuationToken) break;
      page = await h.rawStore.list({ top: 100, continuationToken: page.continuationToken });
    }

    // Assess
    recordFigures('s1-storm-history', { historyEntries: entries, regressions: problems.length });
    expect(problems).toEqual([]);
  });
});
