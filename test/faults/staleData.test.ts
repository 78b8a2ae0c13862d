/**
 * Scenario 8 — stale data: an upstream replica answers an older lastActionDateTime / lastUpdatedDateTime than the
 * one stored (the answer is dropped), and a Language job past its expirationDateTime answers 404 (its terminal
 * status stays).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startUpstreamSimulator } from '../../dev/upstreamSimulator';
import type { Job } from '../../shared/model';
import {
  MINUTE,
  recordFigures,
  startHarness,
  stopIdentityEndpoint,
  T0,
  UPSTREAM_KEY,
  type Harness,
} from '../support/faultHarness';

const connectionString = inject('azuriteConnectionString');

let h: Harness;
let face: Job;
let language: Job;
let expiring: Job;

const FACE_RUN = {
  startAt: new Date(T0 - 10 * MINUTE),
  durationMs: 5 * MINUTE,
  outcome: 'succeeded' as const,
};
const LANGUAGE_RUN = {
  createdAt: new Date(T0 - 3 * MINUTE),
  startAt: new Date(T0 - 2 * MINUTE),
  durationMs: 10 * MINUTE,
  outcome: 'succeeded' as const,
};
const EXPIRING_RUN = {
  createdAt: new Date(T0 - 4 * MINUTE),
  startAt: new Date(T0 - 3 * MINUTE),
  durationMs: MINUTE,
  outcome: 'succeeded' as const,
  expiresAt: new Date(T0 + 5 * MINUTE),
};

/** What the upstream answered at `at` for a path: an answer a lagging replica may send again later. */
async function answerAt(at: number, path: string): Promise<string> {
  const past = await startUpstreamSimulator({ keys: [UPSTREAM_KEY], now: () => new Date(at) });
  try {
    past.addFaceGroup('fg', { createdAt: new Date(T0 - 60 * MINUTE), trainings: [FACE_RUN] });
    past.addLanguageJob('Stale', 'lj', LANGUAGE_RUN);
    const response = await fetch(`${past.origin}${path}`, {
      headers: { 'Ocp-Apim-Subscription-Key': UPSTREAM_KEY },
    });
    expect(response.status).toBe(200);
    return await response.text();
  } finally {
    await past.stop();
  }
}

async function history(job: Job): Promise<string[]> {
  return (await h.rawStore.listHistory(job.id, { top: 100 })).items.map((e) => `${e.status}@${e.at}`);
}

beforeAll(async () => {
  h = await startHarness({ connectionString, simulators: 2 });
  h.sims[0]!.addFaceGroup('fg', { createdAt: new Date(T0 - 60 * MINUTE), trainings: [FACE_RUN] });
  h.sims[1]!.addLanguageJob('Stale', 'lj', LANGUAGE_RUN);
  h.sims[1]!.addLanguageJob('Stale', 'expiring', EXPIRING_RUN);
  [face, language, expiring] = (await h.register([
    { sim: 0, kind: 'face.personGroup', personGroupId: 'fg' },
    { sim: 1, kind: 'language.textAuthoring', projectName: 'Stale', jobId: 'lj' },
    { sim: 1, kind: 'language.textAuthoring', projectName: 'Stale', jobId: 'expiring' },
  ])) as [Job, Job, Job];
  await h.cycleAt(T0); // fg: succeeded; lj: running; expiring: succeeded (terminal)
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await stopIdentityEndpoint();
});

describe('stale upstream answers', () => {
  it('drops a Language answer older than the stored lastUpdatedDateTime (no progress regresses)', async () => {
    // Prepare: stored at T0 (or later); the replica answers what it said a minute before T0.
    const stored = (await h.rawStore.get(language.id))!;
    const staleBody = await answerAt(
      T0 - MINUTE,
      '/language/authoring/analyze-text/projects/Stale/train/jobs/lj?api-version=2022-05-01',
    );
    h.sims[1]!.injectFault({ match: { path: /jobs\/lj\?/ }, response: { status: 200, body: staleBody } });
    const historyBefore = await history(language);

    // Act: a minute later (a refresh, here: the same poll a cycle makes).
    h.clock.set(T0 + MINUTE);
    const refreshed = await h.newPoller().pollNow(language.id);

    // Assess
    expect(h.sims[1]!.pendingFaults()).toBe(0);
    recordFigures('s8-stale', {
      storedPercent: stored.state.percentComplete,
      staleAnswerPercent: (
        JSON.parse(staleBody) as { result: { trainingStatus: { percentComplete: number } } }
      ).result.trainingStatus.percentComplete,
      keptPercent: refreshed.state.percentComplete,
    });
    expect(stored.state.status).toBe('running');
    expect(refreshed.state.status).toBe('running');
    expect(refreshed.state.percentComplete).toBe(stored.state.percentComplete);
    expect(refreshed.state.upstreamUpdatedAt).toBe(stored.state.upstreamUpdatedAt);
    expect(await history(language)).toEqual(historyBefore);
  });

  it('drops a Face answer older than the stored lastActionDateTime', async () => {
    // Prepare: a replica answers what it said while the group was still training.
    const stored = (await h.rawStore.get(face.id))!;
    const staleBody = await answerAt(T0 - 7 * MINUTE, '/face/v1.0/persongroups/fg/training');
    h.sims[0]!.injectFault({
      match: { path: /persongroups\/fg\// },
      response: { status: 200, body: staleBody },
    });
    const historyBefore = await history(face);

    // Act: the idle group is polled again after the idle interval.
    const report = await h.cycleAt(T0 + 16 * MINUTE);
    const after = (await h.rawStore.get(face.id))!;

    // Assess
    expect(stored.state.status).toBe('succeeded');
    expect(h.sims[0]!.pendingFaults()).toBe(0); // the stale answer was served
    expect(report.polled).toBeGreaterThanOrEqual(1);
    expect(after.state.status).toBe('succeeded');
    expect(after.state.upstreamUpdatedAt).toBe(stored.state.upstreamUpdatedAt);
    expect(after.state.changedAt).toBe(stored.state.changedAt);
    expect(after.state.lastError).toBeNull();
    expect(Date.parse(after.state.checkedAt!)).toBeGreaterThan(Date.parse(stored.state.checkedAt!));
    expect(await history(face)).toEqual(historyBefore);
    expect(
      h.logs.some((l) => l.message === 'stale upstream status dropped' && l.properties?.jobId === face.id),
    ).toBe(true);
  });

  it('keeps the terminal status of a Language job that answers 404 after its expirationDateTime', async () => {
    // Prepare
    const stored = (await h.rawStore.get(expiring.id))!;
    const historyBefore = await history(expiring);
    h.clock.set(T0 + 20 * MINUTE); // past expiresAt: the upstream answers 404 NotFound

    // Act: a refresh polls it (terminal jobs are not polled by cycles).
    const refreshed = await h.newPoller().pollNow(expiring.id);
    const last = h.sims[1]!.calls.at(-1)!;

    // Assess
    expect(stored.state.status).toBe('succeeded');
    expect(stored.state.nextCheckAt).toBeNull();
    expect(last.status).toBe(404);
    expect(refreshed.state.status).toBe('succeeded');
    expect(refreshed.state.upstreamStatus).toBe(stored.state.upstreamStatus);
    expect(refreshed.state.nextCheckAt).toBeNull();
    expect(await history(expiring)).toEqual(historyBefore);
  });
});
