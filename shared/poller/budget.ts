import type { Clock } from '../clock';
import type { ResourceState, JobStore } from '../store/types';
import type { RateBudget } from '../upstream/types';

/**
 * The upstream counts calls when they arrive, after network and event-loop jitter: calls sent exactly
 * `periodMs / calls` apart can arrive closer. A 2 % margin keeps the count at the receiver within the budget
 * (the full benchmark measured up to 0.4 % of compression over a minute at 100 calls/min on a busy machine).
 */
export const BUDGET_SAFETY_MARGIN = 0.02;

/**
 * Per-resource budgets. Calls to one resource are spaced at least `periodMs / calls` apart (plus the margin), so
 * any window of `periodMs` holds at most `calls` calls, across cycles, refreshes and instances: the next free
 * slot (`nextSlotAt`) lives in the resource's row and is reserved with an ETag-conditional write.
 */
export function spacingMs(budget: RateBudget): number {
  return (budget.periodMs / budget.calls) * (1 + BUDGET_SAFETY_MARGIN);
}

/** The configured budget for a resource, else the strictest default of the kinds that use it. */
export function budgetFor(
  resource: string,
  configured: ReadonlyMap<string, RateBudget>,
  defaults: readonly RateBudget[],
): RateBudget {
  const own = configured.get(resource);
  if (own) return own;
  return defaults.reduce((a, b) => (spacingMs(a) >= spacingMs(b) ? a : b));
}

export interface Reservation {
  /** Slot times (ms since epoch), in order; may be empty. */
  slots: number[];
  state: ResourceState;
}

/** The resource is paused (429 / quota) or its budget has no slot soon enough. */
export interface Unavailable {
  slots: [];
  state: ResourceState;
  /** When a call could next be made. */
  retryAt: Date;
  reason: 'paused' | 'budget';
}

/**
 * Reserves up to `count` slots no later than `latestSlotAt` (ms), none before `notBefore` (ms). Conditional on the
 * row's ETag; a lost race re-reads and tries again (a few times), so two writers never get the same slot.
 */
export async function reserveSlots(
  store: JobStore,
  clock: Clock,
  resource: string,
  budget: RateBudget,
  count: number,
  latestSlotAt: number,
  options: { known?: ResourceState; abortSignal?: AbortSignal; notBefore?: number } = {},
): Promise<Reservation | Unavailable> {
  const { known, abortSignal, notBefore = 0 } = options;
  const spacing = spacingMs(budget);
  let state = known ?? (await store.getResourceState(resource, { abortSignal })) ?? { resource };
  for (let attempt = 0; attempt < 4; attempt++) {
    const now = clock.now().getTime();
    const pausedUntil = state.pausedUntil ? Date.parse(state.pausedUntil) : NaN;
    if (pausedUntil > now) return { slots: [], state, retryAt: new Date(pausedUntil), reason: 'paused' };
    const first = Math.max(now, notBefore, state.nextSlotAt ? Date.parse(state.nextSlotAt) || 0 : 0);
    const fit = first <= latestSlotAt ? Math.floor((latestSlotAt - first) / spacing) + 1 : 0;
    const n = Math.min(count, fit);
    if (n <= 0) return { slots: [], state, retryAt: new Date(first), reason: 'budget' };
    const slots = Array.from({ length: n }, (_, i) => first + i * spacing);
    const next: ResourceState = { ...state, nextSlotAt: new Date(first + n * spacing).toISOString() };
    if (await store.saveResourceState(next, { abortSignal })) return { slots, state: next };
    state = (await store.getResourceState(resource, { abortSignal })) ?? { resource };
  }
  return { slots: [], state, retryAt: new Date(clock.now().getTime() + spacing), reason: 'budget' };
}

/** Pauses a resource until `until` (never shortens an existing pause). */
export async function pauseResource(
  store: JobStore,
  resource: string,
  pause: { until: Date; code: string; message: string },
): Promise<void> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const state = (await store.getResourceState(resource)) ?? { resource };
    const current = state.pausedUntil ? Date.parse(state.pausedUntil) : 0;
    if (current >= pause.until.getTime()) return;
    const saved = await store.saveResourceState({
      ...state,
      pausedUntil: pause.until.toISOString(),
      pauseCode: pause.code,
      pauseMessage: pause.message.slice(0, 500),
    });
    if (saved) return;
  }
}
