/**
 * docs/spec.md §3 / §5 for run kinds without help from an ordering field, and for upstream hints on a 200: a terminal
 * status is never replaced by a non-terminal reading, and an upstream's own wait (Speech `Retry-After` on a 200)
 * is never undercut by the interval policy.
 */
import { describe, expect, it } from 'vitest';
import type { Job, JobStatus, PollOutcome, StatusReading } from '../../shared/model';
import { nextTransition } from '../../shared/poller/policy';
import { getAdapter } from '../../shared/upstream/registry';
import type { JobAdapter } from '../../shared/upstream/types';

const now = new Date('2026-05-01T12:00:00.000Z');
const options = { now, random: () => 0, idleIntervalMs: 900_000 };
const inSeconds = (iso: string | null): number => (Date.parse(iso ?? '') - now.getTime()) / 1000;

function adapter(kind: string): JobAdapter {
  const found = getAdapter(kind);
  if (!found) throw new Error(`no adapter ${kind}`);
  return found;
}

function runJob(status: JobStatus, upstreamStatus: string, nextCheckAt: string | null): Job {
  return {
    id: '0123456789abcdef0123456789abcdef',
    kind: 'language.textAuthoring',
    endpoint: 'https://myres.cognitiveservices.azure.com',
    keySecretName: 'k',
    apiVersion: '2022-05-01',
    pollIntervalSeconds: 60,
    identity: { projectName: 'p', jobId: 'j' },
    createdAt: '2026-05-01T11:00:00.000Z',
    state: {
      status,
      upstreamStatus,
      upstream: { status: upstreamStatus },
      checkedAt: '2026-05-01T11:59:00.000Z',
      changedAt: '2026-05-01T11:50:00.000Z',
      nextCheckAt,
      lastError: null,
      consecutiveFailures: 0,
    },
  };
}

const reading = (r: Partial<StatusReading> & Pick<StatusReading, 'status'>): PollOutcome => ({
  kind: 'status',
  reading: { upstreamStatus: r.status, upstream: { status: r.status }, ...r },
});

describe('nextTransition: a terminal run status without an ordering timestamp', () => {
  it('keeps a succeeded run when a later answer (no timestamp) says running again', () => {
    // Prepare
    const job = runJob('succeeded', 'succeeded', null);

    // Act
    const t = nextTransition(job, reading({ status: 'running' }), adapter('language.textAuthoring'), options);

    // Assess
    expect(t.stale).toBe(true);
    expect(t.history).toBeUndefined();
    expect(t.state.status).toBe('succeeded');
    expect(t.state.upstreamStatus).toBe('succeeded');
    expect(t.state.nextCheckAt).toBeNull();
  });

  it('still records a move from one terminal status to another', () => {
    // Prepare
    const job = runJob('failed', 'failed', null);

    // Act
    const t = nextTransition(
      job,
      reading({ status: 'cancelled' }),
      adapter('language.textAuthoring'),
      options,
    );

    // Assess
    expect(t.stale).toBeUndefined();
    expect(t.state.status).toBe('cancelled');
  });

  it('lets a running job move to running again (nothing terminal to protect)', () => {
    // Prepare
    const job = runJob('running', 'running', now.toISOString());

    // Act
    const t = nextTransition(
      job,
      reading({ status: 'notStarted' }),
      adapter('language.textAuthoring'),
      options,
    );

    // Assess
    expect(t.stale).toBeUndefined();
    expect(t.state.status).toBe('notStarted');
  });
});

describe('nextTransition: the upstream hint on a 200', () => {
  it('waits the upstream Retry-After when it asks for longer than the interval', () => {
    // Prepare
    const job = runJob('running', 'running', now.toISOString());

    // Act
    const t = nextTransition(
      job,
      reading({ status: 'running', retryAfterMs: 300_000 }),
      adapter('language.textAuthoring'),
      options,
    );

    // Assess
    expect(inSeconds(t.state.nextCheckAt)).toBe(300);
  });

  it('keeps the interval when the hint asks for less', () => {
    // Prepare
    const job = runJob('running', 'running', now.toISOString());

    // Act
    const t = nextTransition(
      job,
      reading({ status: 'running', retryAfterMs: 5_000 }),
      adapter('language.textAuthoring'),
      options,
    );

    // Assess
    expect(inSeconds(t.state.nextCheckAt)).toBe(60);
  });

  it('never moves toward the estimated end sooner than the hint', () => {
    // Prepare
    const job = runJob('running', 'running', now.toISOString());

    // Act
    const t = nextTransition(
      job,
      reading({
        status: 'running',
        retryAfterMs: 45_000,
        estimatedEndDateTime: new Date(now.getTime() + 15_000).toISOString(),
      }),
      adapter('language.textAuthoring'),
      options,
    );

    // Assess
    expect(inSeconds(t.state.nextCheckAt)).toBe(45);
  });

  it('does not schedule a terminal job because of a hint', () => {
    // Prepare
    const job = runJob('running', 'running', now.toISOString());

    // Act
    const t = nextTransition(
      job,
      reading({ status: 'succeeded', retryAfterMs: 60_000 }),
      adapter('language.textAuthoring'),
      options,
    );

    // Assess
    expect(t.state.nextCheckAt).toBeNull();
  });
});
