import { QueueUnavailableError } from '../errors';
import type { PollMessage } from '../queue/types';
import { pollSnapshotOf } from '../store/snapshot';
import { encodeQueueMessage, MAX_QUEUE_MESSAGE_BYTES } from '../queue/message';
import type { PollHandle, ResourceClaim } from '../store/types';
import { releaseClaims, type ClaimedSlot } from './budget';
import type { PollContext } from './context';
import { describeError } from './deps';

/**
 * The hand-off (docs/spec.md §5): jobs claimed with a budget slot after the cycle's call window go to the `polls`
 * queue with that slot; the queue worker (./worker.ts) polls each there. The message carries the claim, so a
 * worker can tell, from the job alone, whether the claim still holds.
 */

/** Most sends in flight at once. */
const MAX_SENDS_IN_FLIGHT = 16;

/**
 * `{token}.{due}.{until}` (times in whole base 36 ms). Slots are fractional when a budget's spacing is (e.g.
 * 180000/h: 20.4 ms), and so is a claim's `until`: it is rounded down, else the message would not decode.
 */
export function encodeClaim(claim: ResourceClaim): string {
  return `${claim.token}.${Math.floor(claim.due).toString(36)}.${Math.floor(claim.until).toString(36)}`;
}

export function decodeClaim(jobId: string, text: string): ResourceClaim | undefined {
  const match = /^([0-9a-z]{1,16})\.([0-9a-z]{1,12})\.([0-9a-z]{1,12})$/.exec(text);
  if (!match) return undefined;
  const due = parseInt(match[2]!, 36);
  const until = parseInt(match[3]!, 36);
  if (!Number.isSafeInteger(due) || !Number.isSafeInteger(until)) return undefined;
  return { jobId, token: match[1]!, due, until };
}

/** Most bytes of a message's text that carry the job's snapshot; a larger one goes without (the worker reads it). */
const MAX_SNAPSHOT_MESSAGE_BYTES = MAX_QUEUE_MESSAGE_BYTES - 1024;

/**
 * The message of one claimed job: the claim, the slot, and the job as the cycle read it from the due index (so the
 * worker needs no read of its own; its write stays conditional on the due row, so a stale copy loses the race).
 */
export function pollMessage(resource: string, claimed: ClaimedSlot & { handle?: PollHandle }): PollMessage {
  const message: PollMessage = {
    v: 1,
    jobId: claimed.jobId,
    claim: encodeClaim(claimed.claim),
    slotAt: new Date(claimed.slot).toISOString(),
    resource,
  };
  const job = claimed.handle ? pollSnapshotOf(claimed.handle) : undefined;
  if (job === undefined) return message;
  const withJob: PollMessage = { ...message, job };
  return Buffer.byteLength(encodeQueueMessage(withJob)) <= MAX_SNAPSHOT_MESSAGE_BYTES ? withJob : message;
}

/**
 * Sends one message per claimed job. A message that was not stored (queue unreachable, refused) gives its claim
 * back, so its job is due again at the next cycle: nothing is lost. A send that failed after it may have stored
 * the message (no answer, a timeout) keeps its claim until it expires: the stored message's worker may still poll
 * the job, and no cycle may poll it meanwhile. Returns how many were sent and how many were not.
 */
export async function handOff(
  ctx: PollContext,
  resource: string,
  claimed: readonly (ClaimedSlot & { handle?: PollHandle })[],
  signal: AbortSignal,
): Promise<{ sent: number; failed: number }> {
  const { queue, store, logger } = ctx.deps;
  if (claimed.length === 0) return { sent: 0, failed: 0 };
  const unsent = new Set<string>();
  /** Of `unsent`: sends that may have stored their message; their claims stay until they expire. */
  const maybeStored = new Set<string>();
  let sent = 0;
  let firstError: unknown;
  const pending = [...claimed];
  const sender = async (): Promise<void> => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      if (!queue || firstError !== undefined || signal.aborted) {
        unsent.add(next.jobId);
        continue;
      }
      const message = pollMessage(resource, next);
      try {
        await queue.send(message, { abortSignal: signal });
        sent++;
      } catch (e) {
        // The queue is unreachable (or refuses): the rest of this resource's hand-offs are not tried.
        firstError ??= e;
        unsent.add(next.jobId);
        if (!(e instanceof QueueUnavailableError) || e.maybeStored) maybeStored.add(next.jobId);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_SENDS_IN_FLIGHT, claimed.length) }, sender));
  if (unsent.size > 0) {
    const token = claimed[0]!.claim.token;
    const release = new Set([...unsent].filter((id) => !maybeStored.has(id)));
    const released =
      release.size > 0 && (await releaseClaims(store, resource, token, release).catch(() => false));
    logger.error('hand-off to the polls queue failed: the jobs stay due', {
      resource,
      jobs: unsent.size,
      jobIds: [...unsent].slice(0, 10),
      claimsReleased: released ? release.size : 0,
      // Their message may be delivered: the claim keeps every other poller off the job until it expires.
      claimsKeptUntilExpiry: maybeStored.size,
      ...(firstError !== undefined ? { error: describeError(firstError) } : {}),
    });
  }
  return { sent, failed: unsent.size };
}
