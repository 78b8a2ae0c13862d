import type { Clock } from '../clock';
import { randomBytes } from 'node:crypto';
import type { JobStore, ResourceClaim, ResourceState } from '../store/types';
import type { SlotQueue, SlotSource } from './slots';
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
  const short = budget.periodMs / budget.calls;
  // A long-period allowance (docs/spec.md §5) spreads the calls evenly over its period.
  const long = budget.allowance ? budget.allowance.periodMs / budget.allowance.calls : 0;
  return Math.max(short, long) * (1 + BUDGET_SAFETY_MARGIN);
}

/**
 * How late a call may start after its slot and still keep every window within its budget: calls `spacingMs`
 * apart leave `BUDGET_SAFETY_MARGIN` of the shortest period free; half of it is kept for arrival jitter.
 */
export function lateAllowanceMs(budget: RateBudget): number {
  return (budget.periodMs * BUDGET_SAFETY_MARGIN) / 2;
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
  /** With `claim`: the jobs claimed, in the order of `slots` (one slot each). */
  claimed: ClaimedSlot[];
  /** With `claim`: jobs left out because another holder's claim on them is in force. */
  heldElsewhere: number;
}

/** The resource is paused (429 / quota) or its budget has no slot soon enough. */
export interface Unavailable {
  slots: [];
  state: ResourceState;
  claimed: [];
  heldElsewhere: number;
  /** When a call could next be made. */
  retryAt: Date;
  reason: 'paused' | 'budget';
}

/** A job to claim with its slot: its id and its nextCheckAt (ms). */
export interface ClaimCandidate {
  jobId: string;
  due: number;
}

export interface ClaimedSlot {
  jobId: string;
  slot: number;
  claim: ResourceClaim;
}

export interface ClaimRequest {
  /** Jobs in the order they should get slots (oldest first). */
  jobs: readonly ClaimCandidate[];
  /** Expiry of the claim of a job given `slot`. */
  until: (slot: number) => number;
}

/** A new holder's token: 12 base-36 characters. */
export function newClaimToken(): string {
  return (randomBytes(8).readBigUInt64BE() % 36n ** 12n).toString(36).padStart(12, '0');
}

/** The claim in force on `job`, if any, and not `token`'s own. */
export function claimOn(
  state: ResourceState | undefined,
  job: ClaimCandidate,
  now: number,
  token?: string,
): ResourceClaim | undefined {
  return state?.claims?.find(
    (c) => c.jobId === job.jobId && c.due === job.due && c.until > now && c.token !== token,
  );
}

/**
 * Reserves up to `count` slots no later than `latestSlotAt` (ms), none before `notBefore` (ms). Conditional on the
 * row's ETag; a lost race re-reads and tries again (a few times), so two writers never get the same slot.
 *
 * With `claim`, each slot goes to one of `claim.jobs` (oldest first) that no other holder has claimed, and the
 * claims are written in the same conditional write: so a due job is claimed by exactly one cycle, refresh or
 * worker, at no Table transaction of its own. Expired claims are dropped from the row.
 */
export async function reserveSlots(
  store: JobStore,
  clock: Clock,
  resource: string,
  budget: RateBudget,
  count: number,
  latestSlotAt: number,
  options: {
    known?: ResourceState;
    abortSignal?: AbortSignal;
    notBefore?: number;
    claim?: ClaimRequest;
  } = {},
): Promise<Reservation | Unavailable> {
  const { known, abortSignal, notBefore = 0, claim } = options;
  const spacing = spacingMs(budget);
  let state = known ?? (await store.getResourceState(resource, { abortSignal })) ?? { resource };
  let heldElsewhere = 0;
  for (let attempt = 0; attempt < 4; attempt++) {
    const now = clock.now().getTime();
    const pausedUntil = state.pausedUntil ? Date.parse(state.pausedUntil) : NaN;
    if (pausedUntil > now)
      return {
        slots: [],
        claimed: [],
        heldElsewhere: 0,
        state,
        retryAt: new Date(pausedUntil),
        reason: 'paused',
      };
    const free = claim ? claim.jobs.filter((job) => !claimOn(state, job, now)) : [];
    heldElsewhere = claim ? claim.jobs.length - free.length : 0;
    const wanted = claim ? Math.min(count, free.length) : count;
    const first = Math.max(now, notBefore, state.nextSlotAt ? Date.parse(state.nextSlotAt) || 0 : 0);
    const fit = first <= latestSlotAt ? Math.floor((latestSlotAt - first) / spacing) + 1 : 0;
    const n = Math.min(wanted, fit);
    if (n <= 0)
      return {
        slots: [],
        claimed: [],
        heldElsewhere,
        state,
        retryAt: new Date(first),
        reason: 'budget',
      };
    const slots = Array.from({ length: n }, (_, i) => first + i * spacing);
    const token = newClaimToken();
    const claimed: ClaimedSlot[] = claim
      ? slots.map((slot, i) => {
          const job = free[i]!;
          return { jobId: job.jobId, slot, claim: { ...job, until: claim.until(slot), token } };
        })
      : [];
    const kept = (state.claims ?? []).filter((c) => c.until > now);
    const claims = [...kept, ...claimed.map((c) => c.claim)];
    const next: ResourceState = {
      ...state,
      nextSlotAt: new Date(first + n * spacing).toISOString(),
      ...(claims.length > 0 || state.claims ? { claims } : {}),
    };
    if (await store.saveResourceState(next, { abortSignal }))
      return { slots, state: next, claimed, heldElsewhere };
    state = (await store.getResourceState(resource, { abortSignal })) ?? { resource };
  }
  return {
    slots: [],
    claimed: [],
    heldElsewhere,
    state,
    retryAt: new Date(clock.now().getTime() + spacing),
    reason: 'budget',
  };
}

/**
 * Where a call gets a slot other than its own: a poll's 401 retry (one more slot of the same budget), or a call
 * too late for its slot (docs/spec.md §5). A spare slot of `slots` not before `notBefore`, else a new reservation
 * no later than `latestSlotAt` for every caller waiting and the `queued()` calls behind them, added to `slots`.
 * Callers that need one while a reservation is in flight wait for it: a burst of late calls costs one conditional
 * write. A reservation that fails (the row unreachable) gives no slot: the job stays due.
 */
export function spareSlotSource(
  slots: SlotQueue,
  {
    store,
    clock,
    resource,
    budget,
    latestSlotAt,
    abortSignal,
    queued = () => 0,
  }: {
    store: JobStore;
    clock: Clock;
    resource: string;
    budget: RateBudget;
    latestSlotAt: number;
    abortSignal?: AbortSignal;
    /** Calls still queued behind the callers (a cycle's jobs not yet started). */
    queued?: () => number;
  },
): SlotSource {
  let reserving: Promise<void> | undefined;
  let waiting = 0;
  return async (notBefore) => {
    waiting++;
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const spare = await slots(notBefore);
        if (spare !== undefined) return spare;
        reserving ??= reserveSlots(store, clock, resource, budget, waiting + queued(), latestSlotAt, {
          ...(abortSignal ? { abortSignal } : {}),
          ...(notBefore !== undefined ? { notBefore } : {}),
        })
          .then(
            (reservation) => slots.add(reservation.slots),
            () => undefined,
          )
          .finally(() => {
            reserving = undefined;
          });
        await reserving;
      }
      return undefined;
    } finally {
      waiting--;
    }
  };
}

/**
 * Drops claims (`token`'s, on `jobIds`) so their jobs are due again at once: a hand-off that could not be sent.
 * Best effort: a claim that cannot be dropped expires.
 */
export async function releaseClaims(
  store: JobStore,
  resource: string,
  token: string,
  jobIds: ReadonlySet<string>,
  options: { abortSignal?: AbortSignal } = {},
): Promise<boolean> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const state = await store.getResourceState(resource, options);
    if (!state?.claims) return true;
    const claims = state.claims.filter((c) => !(c.token === token && jobIds.has(c.jobId)));
    if (claims.length === state.claims.length) return true;
    if (await store.saveResourceState({ ...state, claims }, options)) return true;
  }
  return false;
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
