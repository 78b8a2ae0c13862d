/**
 * Every kind of the registry against its simulated API, through real HTTP and the kind's own adapter: the
 * simulator speaks each kind (its key header, its routes, every api version), a generic run moves through the
 * kind's statuses, and each of its docs/spec.md §4 error answers classifies as the adapter expects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamSimulator, type UpstreamSimulator } from '../../dev/upstreamSimulator';
import type { PollOutcome } from '../../shared/model';
import { fetchUpstream } from '../../shared/upstream/http';
import { listAdapters, listKinds } from '../../shared/upstream/registry';
import type { JobAdapter } from '../../shared/upstream/types';

const KEY = 'sim-key';
const T0 = Date.parse('2024-05-01T10:00:00Z');
let clockMs = T0;
let sim: UpstreamSimulator;

beforeAll(async () => {
  sim = await startUpstreamSimulator({ keys: [KEY], now: () => new Date(clockMs) });
});
afterAll(async () => {
  await sim.stop();
});

async function poll(
  adapter: JobAdapter,
  identity: Record<string, string>,
  apiVersion: string,
  key = KEY,
): Promise<PollOutcome> {
  const response = await fetchUpstream(adapter.buildUrl(sim.origin, identity, apiVersion), {
    headers: { [adapter.keyHeader]: key },
    timeoutMs: 5000,
  });
  return adapter.interpret(response, new Date(clockMs));
}

const statusOf = (outcome: PollOutcome): string =>
  outcome.kind === 'status' ? outcome.reading.status : outcome.failure.code;

describe('the simulator speaks every kind of the registry', () => {
  it('has one simulated API per kind, in registry order', () => {
    expect(sim.kinds).toEqual(listKinds());
  });

  describe.each(listAdapters().map((adapter) => [adapter.kind, adapter] as const))('%s', (kind, adapter) => {
    it('moves a generic run through notStarted, running and its outcome on every api version', async () => {
      // Prepare
      clockMs = T0;
      const identity = sim.sampleIdentity(kind, `run-${kind}`);
      sim.addJob(kind, identity, {
        createdAt: new Date(T0),
        startAt: new Date(T0 + 60_000),
        durationMs: 120_000,
        outcome: 'succeeded',
      });
      const seen: string[][] = [];

      // Act
      for (const at of [30_000, 90_000, 600_000]) {
        clockMs = T0 + at;
        const outcomes = await Promise.all(adapter.apiVersions.map((v) => poll(adapter, identity, v)));
        seen.push(outcomes.map(statusOf));
      }

      // Assess
      const row = (status: string): string[] => adapter.apiVersions.map(() => status);
      expect(seen).toEqual([row('notStarted'), row('running'), row('succeeded')]);
    });

    it('ends a failed run failed, and the adapter parses the failure body', async () => {
      clockMs = T0;
      const identity = sim.sampleIdentity(kind, `fail-${kind}`);
      sim.addJob(kind, identity, {
        createdAt: new Date(T0),
        startAt: new Date(T0),
        durationMs: 1000,
        outcome: 'failed',
      });
      clockMs = T0 + 60_000;
      const outcome = await poll(adapter, identity, adapter.defaultApiVersion);
      expect(statusOf(outcome)).toBe('failed');
      expect(adapter.phase('failed')).not.toBe('active');
    });

    it(`reads the key from ${adapter.keyHeader} only`, async () => {
      clockMs = T0;
      const identity = sim.sampleIdentity(kind, `key-${kind}`);
      sim.addJob(kind, identity, {
        createdAt: new Date(T0),
        startAt: new Date(T0),
        durationMs: 1000,
        outcome: 'succeeded',
      });
      const wrongHeader = adapter.keyHeader === 'api-key' ? 'Ocp-Apim-Subscription-Key' : 'api-key';
      const response = await fetchUpstream(
        adapter.buildUrl(sim.origin, identity, adapter.defaultApiVersion),
        {
          headers: { [wrongHeader]: KEY },
          timeoutMs: 5000,
        },
      );
      expect(statusOf(adapter.interpret(response, new Date(clockMs)))).toBe('Unauthorized');
      expect(statusOf(await poll(adapter, identity, adapter.defaultApiVersion, 'wrong-key'))).toBe(
        'Unauthorized',
      );
    });

    it('answers an unknown job with a 404 the adapter reads as NotFound', async () => {
      const identity = sim.sampleIdentity(kind, `never-added-${kind}`);
      expect(statusOf(await poll(adapter, identity, adapter.defaultApiVersion))).toBe('NotFound');
    });

    it('has error answers that classify as docs/spec.md §4 says', () => {
      // Prepare
      const errors = sim.errorsOf(kind);
      const classify = (answer: {
        status: number;
        body: string | object;
        headers?: Record<string, string>;
      }): PollOutcome =>
        adapter.interpret(
          {
            status: answer.status,
            headers: new Headers(answer.headers ?? {}),
            bodyText: typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body),
          },
          new Date(T0),
        );

      // Act
      const codes = {
        unauthorized: statusOf(classify(errors.unauthorized)),
        quotaExceeded: statusOf(classify(errors.quotaExceeded)),
        forbidden: statusOf(classify(errors.forbidden)),
        notFound: statusOf(classify(errors.notFound)),
        conflict: statusOf(classify(errors.conflict)),
        rateLimited: statusOf(classify(errors.rateLimited)),
        serverError: statusOf(classify(errors.serverError)),
      };
      const hint = classify(errors.rateLimited);

      // Assess
      expect(codes).toEqual({
        unauthorized: 'Unauthorized',
        quotaExceeded: 'QuotaExceeded',
        forbidden: 'Forbidden',
        notFound: 'NotFound',
        conflict: 'Conflict',
        rateLimited: 'RateLimited',
        serverError: 'UpstreamUnavailable',
      });
      expect(hint.kind === 'failure' && hint.failure.retryAfterMs).toBe(errors.rateLimitedHintMs);
    });
  });

  it('adds a demo job per kind that reaches a final status within two minutes', async () => {
    // Prepare
    clockMs = T0;
    const demos = sim.addDemoJobs(new Date(T0));
    const first = new Map<string, { identity: Record<string, string> }>();
    for (const demo of demos) if (!first.has(demo.kind)) first.set(demo.kind, demo);

    // Act
    clockMs = T0 + 2 * 60_000;
    const finals: Record<string, string> = {};
    for (const adapter of listAdapters()) {
      const demo = first.get(adapter.kind);
      finals[adapter.kind] = demo
        ? String(statusOf(await poll(adapter, demo.identity, adapter.defaultApiVersion)))
        : 'none';
    }

    // Assess
    for (const kind of listKinds())
      expect(['succeeded', 'failed', 'cancelled'], kind).toContain(finals[kind]);
  });
});
