/**
 * `openai.fineTuning`, `speech.customModel` and `customVision.iteration` end to end: register → poll → GET → history
 * through the local host against the upstream simulator (each kind with its own key header), plus the rows of
 * docs/spec.md §4 where the kind differs: its 404 shape, its own 429 hint, and its terminal stop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatedRun } from '../../dev/simulator/types';
import { startTestStack, type TestStack } from '../support/testStack';

const KINDS = ['openai.fineTuning', 'speech.customModel', 'customVision.iteration'] as const;

let t: TestStack;
const MINUTE = 60_000;

interface StatusBody {
  status: string;
  upstreamStatus: string | null;
  upstream: Record<string, unknown>;
  nextCheckAt: string | null;
  upstreamUpdatedAt?: string;
  lastError: { code: string; upstreamCode?: string; retryAt?: string; httpStatus?: number } | null;
}

beforeAll(async () => {
  // Each kind's 429 pauses a resource of its own.
  const rate = Object.fromEntries(KINDS.map((kind) => [`rate-${kind}`, { budget: '60/min' }]));
  t = await startTestStack({ simulators: { main: {}, ...rate } });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

async function refresh(id: string): Promise<StatusBody> {
  const response = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
  expect(response.status).toBe(200);
  return response.body as StatusBody;
}

/** Replaces the job's run on the simulator: the upstream moves on. */
function setRun(sim: string, kind: string, identity: Record<string, string>, run: SimulatedRun): void {
  t.sims[sim]!.removeJob(kind, identity);
  t.sims[sim]!.addJob(kind, identity, run);
}

describe.each(KINDS)('%s through the local host', (kind) => {
  it('registers, polls through notStarted → running → terminal, serves the status and the history, then stops', async () => {
    // Prepare
    const now = Date.now();
    const createdAt = new Date(now - 10 * MINUTE);
    const identity = t.sims.main!.sampleIdentity(kind, `e2e-${kind}`);
    setRun('main', kind, identity, {
      createdAt,
      startAt: new Date(now + 60 * MINUTE),
      durationMs: MINUTE,
      outcome: 'succeeded',
    });
    const id = await t.register('main', { kind, ...identity });

    // Act
    const waiting = await refresh(id);
    setRun('main', kind, identity, {
      createdAt,
      startAt: new Date(now - 5 * MINUTE),
      durationMs: 60 * MINUTE,
      outcome: 'succeeded',
    });
    const running = await refresh(id);
    setRun('main', kind, identity, {
      createdAt,
      startAt: new Date(now - 5 * MINUTE),
      durationMs: Date.now() + 1_000 - (now - 5 * MINUTE),
      outcome: 'succeeded',
    });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const done = await refresh(id);
    const status = await t.call(`/api/jobs/${id}/status`);
    const history = await t.call(`/api/jobs/${id}/history`);

    // Assess
    expect([waiting.status, running.status, done.status]).toEqual(['notStarted', 'running', 'succeeded']);
    expect(done.nextCheckAt).toBeNull();
    expect(done.lastError).toBeNull();
    expect(status.status).toBe(200);
    expect((status.body as StatusBody).upstream).toMatchObject({ status: done.upstreamStatus });
    expect((history.body as { value: Array<{ status: string }> }).value.map((h) => h.status)).toEqual([
      'succeeded',
      'running',
      'notStarted',
      'pending',
    ]);
  });

  it('marks an unknown job notFound from the kind 404 shape', async () => {
    // Prepare
    const identity = t.sims.main!.sampleIdentity(kind, `missing-${kind}`);
    const id = await t.register('main', { kind, ...identity });

    // Act
    const body = await refresh(id);

    // Assess
    expect(body.status).toBe('notFound');
    expect(body.lastError).toMatchObject({ code: 'NotFound', httpStatus: 404 });
  });

  it('pauses the resource until the wait stated in the kind own 429 body', async () => {
    // Prepare
    const sim = t.sims[`rate-${kind}`]!;
    const identity = sim.sampleIdentity(kind, 'rate');
    sim.addJob(kind, identity, {
      createdAt: new Date(Date.now() - MINUTE),
      startAt: new Date(Date.now() - MINUTE),
      durationMs: 60 * MINUTE,
      outcome: 'succeeded',
    });
    const id = await t.register(`rate-${kind}`, { kind, ...identity });
    const { rateLimited, rateLimitedHintMs } = sim.errorsOf(kind);
    sim.injectFault({ response: rateLimited });

    // Act
    const before = Date.now();
    const response = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
    const status = (await t.call(`/api/jobs/${id}/status`)).body as StatusBody;

    // Assess
    expect([200, 429]).toContain(response.status);
    expect(status.lastError).toMatchObject({ code: 'RateLimited', httpStatus: 429 });
    const waitMs = Date.parse(status.lastError?.retryAt ?? '') - before;
    expect(waitMs).toBeGreaterThanOrEqual(rateLimitedHintMs - 1_000);
  });
});
