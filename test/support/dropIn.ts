import type { Identity } from '../../shared/model';
import type { SimulatedRun } from '../../dev/simulator/types';
import type { TestStack } from './testStack';

/**
 * Where a real client is pointed in the drop-in tests (docs/spec.md §13): straight at the simulated upstream (the
 * client works against the service's own shapes), or at the drop-in base URL of the same resource on the cache.
 */
export type ClientTarget = 'upstream' | 'drop-in';

export const CLIENT_TARGETS: readonly ClientTarget[] = ['upstream', 'drop-in'];

/** The endpoint a client is given for `target`: the simulator's origin, or `/api/upstream/{host:port}` on the cache. */
export function endpointFor(t: TestStack, sim: string, target: ClientTarget): string {
  const origin = t.sims[sim]!.origin;
  return target === 'upstream' ? origin : dropInBase(t.url, origin);
}

/** The drop-in base URL of the upstream resource at `origin` on the cache at `cacheUrl`. */
export function dropInBase(cacheUrl: string, origin: string): string {
  return `${cacheUrl}/api/upstream/${new URL(origin).host}`;
}

/** A training on `sim` that started a minute ago and runs for an hour (`ended`: it succeeded 10 minutes ago). */
export function addRun(
  t: TestStack,
  sim: string,
  kind: string,
  seed: string,
  options: { ended?: boolean } = {},
): Identity {
  const now = Date.now();
  const identity = t.sims[sim]!.sampleIdentity(kind, seed);
  const run: SimulatedRun = {
    createdAt: new Date(now - 30 * 60_000),
    startAt: new Date(now - (options.ended ? 20 : 1) * 60_000),
    durationMs: options.ended ? 10 * 60_000 : 60 * 60_000,
    outcome: 'succeeded',
  };
  t.sims[sim]!.addJob(kind, identity, run);
  return identity;
}

/**
 * Makes the job known to the cache when the client reads through the drop-in: registered and polled once, so its
 * upstream body is cached. Direct reads need nothing.
 */
export async function prepareFor(
  t: TestStack,
  target: ClientTarget,
  sim: string,
  kind: string,
  identity: Identity,
): Promise<void> {
  if (target === 'upstream') return;
  const id = await t.register(sim, { kind, ...identity });
  const refreshed = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
  if (refreshed.status !== 200) throw new Error(`refresh answered ${refreshed.status} ${refreshed.text}`);
}

/** Calls the upstream received while `act` ran (a read through the drop-in must add none). */
export async function upstreamCallsDuring<T>(
  t: TestStack,
  sim: string,
  act: () => Promise<T>,
): Promise<{ result: T; upstreamCalls: number }> {
  const before = t.sims[sim]!.calls.length;
  const result = await act();
  return { result, upstreamCalls: t.sims[sim]!.calls.length - before };
}
