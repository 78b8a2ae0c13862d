/**
 * The `polls` queue (docs/spec.md §5): a cycle hands a claimed job whose reserved budget slot falls after its
 * call window to the queue, invisible until that slot; the queue-triggered function `pollJob` polls it there, on
 * whichever instance takes the message, through the same per-job poll as the cycle.
 */

/** One handed-off poll. Serialized as JSON, then base64, as the Functions queue trigger expects. */
export interface PollMessage {
  /** Schema version of the message. */
  v: 1;
  jobId: string;
  /** The claim the cycle took on the job: a worker whose claim is gone (polled, expired, deleted) does nothing. */
  claim: string;
  /** ISO 8601 UTC: the reserved budget slot; the message is invisible until then. */
  slotAt: string;
  /** The upstream resource (`host` or `host:port`) whose budget the slot belongs to. */
  resource: string;
  /**
   * The job as the cycle read it from the due index (its row's properties), so the worker reads nothing before its
   * call; absent when it would make the message too large (the worker then reads the job).
   */
  job?: Record<string, string | number>;
}

/** Where the poller sends handed-off polls (a Storage queue in Azure and under `npm start`). */
export interface PollQueue {
  /** Sends `message`, invisible until shortly before `message.slotAt` (at most 7 days ahead). */
  send(message: PollMessage, options?: { abortSignal?: AbortSignal }): Promise<void>;
}
