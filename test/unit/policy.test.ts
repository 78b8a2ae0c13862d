import { describe, expect, it } from 'vitest';
import type { Job, PollOutcome, StatusReading } from '../../shared/model';
import { backoffMs, nextTransition } from '../../shared/poller/policy';
import { facePersonGroupAdapter } from '../../shared/upstream/kinds/facePersonGroup';
import { languageTextAuthoringAdapter } from '../../shared/upstream/kinds/languageTextAuthoring';

const now = new Date('2026-05-01T12:00:00.000Z');
const options = { now, random: () => 0, idleIntervalMs: 900_000 };
const inSeconds = (iso: string | null): number => (Date.parse(iso ?? '') - now.getTime()) / 1000;

function job(kind: 'face' | 'language', state: Partial<Job['state']> = {}): Job {
  return {
    id: '0123456789abcdef0123456789abcdef',
    kind: kind === 'face' ? 'face.personGroup' : 'language.textAuthoring',
    endpoint: 'https://myres.cognitiveservices.azure.com',
    keySecretName: 'k',
    apiVersion: kind === 'face' ? 'v1.0' : '2022-05-01',
    pollIntervalSeconds: 60,
    identity: kind === 'face' ? { personGroupId: 'g' } : { projectName: 'p', jobId: 'j' },
    createdAt: '2026-05-01T11:00:00.000Z',
    state: {
      status: 'running',
      upstreamStatus: 'running',
      upstream: {},
      checkedAt: '2026-05-01T11:59:00.000Z',
      changedAt: '2026-05-01T11:50:00.000Z',
      nextCheckAt: '2026-05-01T12:00:00.000Z',
      lastError: null,
      consecutiveFailures: 0,
      ...state,
    },
  };
}

const reading = (r: Partial<StatusReading> & Pick<StatusReading, 'status'>): PollOutcome => ({
  kind: 'status',
  reading: { upstreamStatus: r.status, upstream: {}, ...r },
});
const failure = (code: string, extra: Record<string, unknown> = {}): PollOutcome =>
  ({ kind: 'failure', failure: { code, message: 'm', ...extra } }) as PollOutcome;

describe('nextTransition: readings', () => {
  it('schedules a running job at its interval and records no history when nothing moved', () => {
    // Act
    const t = nextTransition(
      job('language'),
      reading({ status: 'running', percentComplete: 40 }),
      languageTextAuthoringAdapter,
      options,
    );

    // Assess
    expect(inSeconds(t.state.nextCheckAt)).toBe(60);
    expect(t.history).toBeUndefined();
    expect(t.state.changedAt).toBe('2026-05-01T11:50:00.000Z');
    expect(t.state.percentComplete).toBe(40);
  });

  it('counts the interval from the cycle start, so the next minute-cycle finds the job due', () => {
    // Act
    const t = nextTransition(job('face'), reading({ status: 'running' }), facePersonGroupAdapter, {
      ...options,
      scheduleFrom: new Date(now.getTime() - 20_000),
    });

    // Assess
    expect(inSeconds(t.state.nextCheckAt)).toBe(40);
    expect(t.state.checkedAt).toBe(now.toISOString());
  });

  it('moves the next check toward the estimated end, never sooner than 10 s', () => {
    // Act
    const soon = nextTransition(
      job('language'),
      reading({ status: 'running', estimatedEndDateTime: '2026-05-01T12:00:25.000Z' }),
      languageTextAuthoringAdapter,
      options,
    );
    const tooSoon = nextTransition(
      job('language'),
      reading({ status: 'running', estimatedEndDateTime: '2026-05-01T12:00:02.000Z' }),
      languageTextAuthoringAdapter,
      options,
    );

    // Assess
    expect(inSeconds(soon.state.nextCheckAt)).toBe(25);
    expect(inSeconds(tooSoon.state.nextCheckAt)).toBe(10);
  });

  it('stops polling a terminal Language job and records the transition', () => {
    // Act
    const t = nextTransition(
      job('language'),
      reading({ status: 'succeeded' }),
      languageTextAuthoringAdapter,
      options,
    );

    // Assess
    expect(t.state.nextCheckAt).toBeNull();
    expect(t.history).toMatchObject({ status: 'succeeded', at: now.toISOString() });
  });

  it('keeps watching an idle Face group at the idle interval, and stops when the interval is 0', () => {
    // Act
    const idle = nextTransition(
      job('face'),
      reading({ status: 'succeeded' }),
      facePersonGroupAdapter,
      options,
    );
    const stopped = nextTransition(job('face'), reading({ status: 'succeeded' }), facePersonGroupAdapter, {
      ...options,
      idleIntervalMs: 0,
    });

    // Assess
    expect(inSeconds(idle.state.nextCheckAt)).toBe(900);
    expect(stopped.state.nextCheckAt).toBeNull();
  });

  it('records a retrained Face group (newer lastActionDateTime) as a new run even when the status is the same', () => {
    // Prepare
    const before = job('face', {
      status: 'succeeded',
      upstreamStatus: 'succeeded',
      upstreamUpdatedAt: '2026-05-01T10:00:00.000Z',
    });

    // Act
    const t = nextTransition(
      before,
      reading({ status: 'succeeded', upstreamUpdatedAt: '2026-05-01T11:30:00.000Z' }),
      facePersonGroupAdapter,
      options,
    );

    // Assess
    expect(t.history).toMatchObject({ status: 'succeeded' });
    expect(t.state.changedAt).toBe(now.toISOString());
  });

  it('drops a reading older than the stored one', () => {
    // Prepare
    const before = job('language', {
      status: 'succeeded',
      upstreamStatus: 'succeeded',
      upstreamUpdatedAt: '2026-05-01T11:00:00.000Z',
    });

    // Act
    const t = nextTransition(
      before,
      reading({ status: 'running', upstreamUpdatedAt: '2026-05-01T10:00:00.000Z' }),
      languageTextAuthoringAdapter,
      options,
    );

    // Assess
    expect(t.stale).toBe(true);
    expect(t.state.status).toBe('succeeded');
    expect(t.history).toBeUndefined();
  });
});

describe('nextTransition: failures', () => {
  it.each([
    ['Unauthorized', {}, 15 * 60],
    ['Forbidden', {}, 60 * 60],
    ['Conflict', {}, 0],
    ['UpstreamUnavailable', {}, 30],
    ['InvalidResponse', {}, 30],
    ['SecretUnavailable', { retryAfterMs: 120_000 }, 120],
  ])('%s keeps the last good status and retries after the policy delay', (code, extra, seconds) => {
    // Act
    const t = nextTransition(job('face'), failure(code, extra), facePersonGroupAdapter, options);

    // Assess
    expect(t.state.status).toBe('running');
    expect(t.state.lastError).toMatchObject({ code });
    expect(inSeconds(t.state.nextCheckAt)).toBe(seconds);
    expect(t.pause).toBeUndefined();
  });

  it('pauses the resource on a 429 until Retry-After, else with exponential backoff', () => {
    // Act
    const told = nextTransition(
      job('face'),
      failure('RateLimited', { retryAfterMs: 26_000 }),
      facePersonGroupAdapter,
      options,
    );
    const untold = nextTransition(
      job('face', { consecutiveFailures: 2 }),
      failure('RateLimited'),
      facePersonGroupAdapter,
      options,
    );

    // Assess
    expect(told.pause).toMatchObject({ code: 'RateLimited' });
    expect(inSeconds(told.state.lastError!.retryAt!)).toBe(26);
    expect(inSeconds(untold.state.nextCheckAt)).toBe(40); // 10 s · 2² after the third failure in a row
  });

  it('suspends the resource on a quota 403 until replenished, else for one hour', () => {
    // Act
    const told = nextTransition(
      job('face'),
      failure('QuotaExceeded', { retryAfterMs: 2 * 86_400_000 }),
      facePersonGroupAdapter,
      options,
    );
    const untold = nextTransition(job('face'), failure('QuotaExceeded'), facePersonGroupAdapter, options);

    // Assess
    expect(told.pause!.until.getTime() - now.getTime()).toBe(2 * 86_400_000);
    expect(inSeconds(untold.state.nextCheckAt)).toBe(3600);
  });

  it('marks notFound (polled at the idle interval) but never replaces a terminal Language status', () => {
    // Act
    const missing = nextTransition(job('face'), failure('NotFound'), facePersonGroupAdapter, options);
    const expired = nextTransition(
      job('language', { status: 'succeeded', upstreamStatus: 'succeeded' }),
      failure('NotFound'),
      languageTextAuthoringAdapter,
      options,
    );

    // Assess
    expect(missing.state.status).toBe('notFound');
    expect(inSeconds(missing.state.nextCheckAt)).toBe(900);
    expect(missing.history).toMatchObject({ status: 'notFound' });
    expect(expired.state.status).toBe('succeeded');
    expect(expired.history).toBeUndefined();
  });
});

describe('backoffMs', () => {
  it('doubles from 30 s and is capped at 15 minutes, plus at most 10 % jitter', () => {
    expect(backoffMs(1, () => 0)).toBe(30_000);
    expect(backoffMs(3, () => 0)).toBe(120_000);
    expect(backoffMs(20, () => 0)).toBe(900_000);
    expect(backoffMs(20, () => 0.999)).toBeLessThanOrEqual(930_000);
  });
});
