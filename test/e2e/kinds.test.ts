/**
 * Every kind of the registry end to end: register → poll → GET → history through the local host against the
 * simulator, and the rows of docs/spec.md §4 that apply to it (401 re-read, quota 403, 404, 409, 429 with the kind's own
 * hint, 5xx, redirects refused, invalid body, stale update dropped, terminal stop / idle watch). A kind added to the
 * registry (with its simulated API) is covered here without edits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultResponse, UpstreamSimulator } from '../../dev/upstreamSimulator';
import { listAdapters } from '../../shared/upstream/registry';
import type { JobAdapter } from '../../shared/upstream/types';
import { CANARY_KEY, startTestStack, type TestStack } from '../support/testStack';

interface StatusBody {
  status: string;
  upstreamStatus: string | null;
  nextCheckAt: string | null;
  upstream: Record<string, unknown> | null;
  lastError: { code: string; httpStatus?: number; upstreamCode?: string; retryAt?: string } | null;
}

const ADAPTERS = listAdapters().map((adapter) => [adapter.kind, adapter] as const);
/** Each kind gets its own resources: `main` for per-job rows; `pause`, `rate` and `auth` for rows that pause or break one. */
const simName = (kind: string, role: 'main' | 'pause' | 'auth' | 'rate'): string => `${role}:${kind}`;

let t: TestStack;
const now = Date.now();
const at = (minutes: number): Date => new Date(now + minutes * 60_000);
const secondsUntil = (iso: string | null | undefined): number => (Date.parse(iso ?? '') - Date.now()) / 1000;

beforeAll(async () => {
  const simulators: Record<string, { budget?: string }> = {};
  for (const [kind] of ADAPTERS) {
    simulators[simName(kind, 'main')] = {};
    simulators[simName(kind, 'pause')] = { budget: '60/min' };
    simulators[simName(kind, 'auth')] = {};
    simulators[simName(kind, 'rate')] = {};
  }
  t = await startTestStack({ simulators });
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

async function refresh(id: string): Promise<StatusBody> {
  return (await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' })).body as StatusBody;
}

/** A job of `kind` on `sim`, running from a minute ago for an hour (or ended, when `ended`). */
async function job(
  adapter: JobAdapter,
  role: 'main' | 'pause' | 'auth' | 'rate',
  seed: string,
  options: { ended?: boolean; keySecretName?: string } = {},
): Promise<{ id: string; path: string; sim: UpstreamSimulator }> {
  const sim = t.sims[simName(adapter.kind, role)]!;
  const identity = sim.sampleIdentity(adapter.kind, seed);
  sim.addJob(adapter.kind, identity, {
    createdAt: at(-30),
    startAt: options.ended ? at(-20) : at(-1),
    durationMs: options.ended ? 60_000 : 3_600_000,
    outcome: 'succeeded',
  });
  const id = await t.register(simName(adapter.kind, role), {
    kind: adapter.kind,
    ...identity,
    ...(options.keySecretName ? { keySecretName: options.keySecretName } : {}),
  });
  const path = new URL(adapter.buildUrl(sim.origin, identity, adapter.defaultApiVersion)).pathname;
  return { id, path, sim };
}

/** A fault for this job's path only. */
function faultOn(sim: UpstreamSimulator, path: string, response: FaultResponse, times = 1): void {
  sim.injectFault({
    match: { path: new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) },
    times,
    response,
  });
}

describe.each(ADAPTERS)('%s end to end', (kind, adapter) => {
  it('goes register → poll → GET → history, and is then watched as its lifecycle says', async () => {
    // Prepare
    const running = await job(adapter, 'main', 'e2e-running');
    const ended = await job(adapter, 'main', 'e2e-ended', { ended: true });

    // Act
    const first = await refresh(running.id);
    const got = await t.call(`/api/jobs/${running.id}`);
    const status = await t.call(`/api/jobs/${running.id}/status`);
    const history = await t.call(`/api/jobs/${running.id}/history`);
    const done = await refresh(ended.id);

    // Assess
    expect(first).toMatchObject({ status: 'running', lastError: null });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      kind,
      ...Object.fromEntries(adapter.identityFields.map((f) => [f, expect.any(String)])),
    });
    expect(status.body).toMatchObject({ kind, status: 'running' });
    expect((history.body as { value: Array<{ status: string }> }).value.map((h) => h.status)).toContain(
      'running',
    );
    expect(done.status).toBe('succeeded');
    if (adapter.phase('succeeded') === 'terminal') expect(done.nextCheckAt).toBeNull();
    else expect(secondsUntil(done.nextCheckAt) / 60).toBeGreaterThan(10); // idle watch (default 15 min)
  });

  it('re-reads the key once on a 401, then backs off with Unauthorized when the fresh key is refused too', async () => {
    // Prepare
    const secret = `auth-${kind.replace(/\./g, '-')}`;
    t.stack.vault!.setSecret(secret, CANARY_KEY);
    const { id, sim } = await job(adapter, 'auth', 'e2e-auth', { keySecretName: secret });
    await refresh(id);
    sim.setKeys(['a-key-the-vault-does-not-have']);
    sim.resetCalls();
    const readsBefore = t.stack.vault!.reads.get(secret) ?? 0;

    // Act
    const body = await refresh(id);

    // Assess
    expect(body.lastError).toMatchObject({ code: 'Unauthorized', httpStatus: 401 });
    expect(sim.calls.map((c) => c.status)).toEqual([401, 401]);
    expect((t.stack.vault!.reads.get(secret) ?? 0) - readsBefore).toBe(1);
    expect(body.status).toBe('running');
  });

  it('suspends the resource on a quota 403 and does not call its other jobs', async () => {
    // Prepare
    const first = await job(adapter, 'pause', 'e2e-quota-1');
    const second = await job(adapter, 'pause', 'e2e-quota-2');
    faultOn(first.sim, first.path, t.sims[simName(kind, 'pause')]!.errorsOf(kind).quotaExceeded);

    // Act
    const body = await refresh(first.id);
    const callsAfter = first.sim.calls.length;
    const other = await t.call(`/api/jobs/${second.id}/refresh`, { method: 'POST' });

    // Assess
    expect(body.lastError).toMatchObject({ code: 'QuotaExceeded', httpStatus: 403 });
    expect(secondsUntil(body.lastError!.retryAt)).toBeGreaterThan(3000);
    expect(other.status).toBe(429);
    expect(first.sim.calls.length).toBe(callsAfter);
  });

  it('classifies 404, 409, 429 (with its own hint), 5xx, a redirect and an invalid body', async () => {
    // Prepare
    const { id, path, sim } = await job(adapter, 'main', 'e2e-faults');
    const errors = sim.errorsOf(kind);
    const target = t.sims[simName(kind, 'auth')]!;
    await refresh(id);
    const rows: Array<[string, FaultResponse]> = [
      ['Conflict', errors.conflict],
      ['UpstreamUnavailable', errors.serverError],
      ['InvalidResponse', { redirectTo: `${target.origin}/steal`, status: 307 }],
      ['InvalidResponse', { status: 200, body: '<html>Welcome</html>' }],
      ['InvalidResponse', { status: 200, body: { status: 12 } }],
      ['NotFound', errors.notFound],
    ];
    target.resetCalls();

    // Act
    const seen: Array<[string, string]> = [];
    for (const [, response] of rows) {
      faultOn(sim, path, response);
      const body = await refresh(id);
      seen.push([body.lastError?.code ?? 'none', body.status]);
    }

    // Assess
    expect(seen).toEqual([
      ['Conflict', 'running'],
      ['UpstreamUnavailable', 'running'],
      ['InvalidResponse', 'running'],
      ['InvalidResponse', 'running'],
      ['InvalidResponse', 'running'],
      ['NotFound', 'notFound'],
    ]);
    expect(target.calls).toHaveLength(0);
  });

  it('waits out a 429 for the wait its body states, with no Retry-After header', async () => {
    // Prepare
    const { id, path, sim } = await job(adapter, 'rate', 'e2e-429');
    const errors = sim.errorsOf(kind);
    faultOn(sim, path, errors.rateLimited);

    // Act
    const response = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
    const body = (await t.call(`/api/jobs/${id}/status`)).body as StatusBody;

    // Assess
    expect([200, 429]).toContain(response.status);
    expect(body.lastError).toMatchObject({ code: 'RateLimited', httpStatus: 429 });
    expect(secondsUntil(body.lastError!.retryAt)).toBeGreaterThan(errors.rateLimitedHintMs / 1000 - 2);
  });

  it.skipIf(adapter.orderingField === undefined)(
    `drops an update whose ${adapter.orderingField ?? 'ordering field'} is older than the stored one`,
    async () => {
      // Prepare: the simulator's own answer, its ordering field moved to the year 2000.
      const { id, path, sim } = await job(adapter, 'main', 'e2e-stale');
      const stored = await refresh(id);
      const url = adapter.buildUrl(
        sim.origin,
        sim.sampleIdentity(kind, 'e2e-stale'),
        adapter.defaultApiVersion,
      );
      const current = await fetch(url, { headers: { [adapter.keyHeader]: CANARY_KEY } });
      const body = (await current.json()) as Record<string, unknown>;
      faultOn(sim, path, {
        status: 200,
        body: { ...body, [adapter.orderingField!]: '2000-01-01T00:00:00Z' },
      });

      // Act
      const after = await refresh(id);

      // Assess
      const field = adapter.orderingField!;
      expect(stored.upstream?.[field]).toEqual(expect.any(String));
      expect(after.upstream?.[field]).toBe(stored.upstream?.[field]);
      expect(after.lastError).toBeNull();
    },
  );
});
