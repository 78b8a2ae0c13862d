/**
 * The `polls` queue's message on the wire (docs/spec.md §5): JSON, then base64, which is what the Functions
 * queue trigger decodes by default (`host.json` `extensions.queues.messageEncoding`). No SDK here: the function
 * file that reads messages imports this at cold start.
 */
import { z } from 'zod';
import { InvalidQueueMessageError } from '../errors';
import type { PollMessage } from './types';

/** The queue the cycle hands polls to and `pollJob` is triggered by (its poison queue: `polls-poison`). */
export const POLL_QUEUE_NAME = 'polls';

/** Largest message text a Storage queue takes (64 KiB). */
export const MAX_QUEUE_MESSAGE_BYTES = 64 * 1024;

/** The message text for `value`: its JSON, base64-encoded (UTF-8). */
export function encodeQueueMessage(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

const isoUtc = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/, 'must be an ISO 8601 UTC time')
  .refine((v) => !Number.isNaN(Date.parse(v)), 'must be a valid time');

const pollMessageSchema = z.strictObject({
  v: z.literal(1),
  jobId: z.string().min(1).max(512),
  claim: z.string().min(1).max(512),
  slotAt: isoUtc,
  resource: z
    .string()
    .min(1)
    .max(300)
    .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/, 'must be host or host:port'),
  job: z.record(z.string().max(64), z.union([z.string(), z.number()])).optional(),
});

/**
 * Reads a queue message as the trigger hands it over: the parsed object (the host JSON-parses JSON text), or the
 * JSON text itself, checked against `schema`. Throws InvalidQueueMessageError listing every problem.
 */
export function parseQueueMessage<T>(
  input: unknown,
  schema: z.ZodType<T>,
  queue: { name: string; describes: string },
): T {
  let value = input;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    try {
      value = JSON.parse(input.toString()) as unknown;
    } catch {
      throw new InvalidQueueMessageError(`The ${queue.name} message is not JSON`, ['(message): not JSON']);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`);
    throw new InvalidQueueMessageError(
      `The ${queue.name} message is not ${queue.describes}: ${problems.join('; ')}`,
      problems,
    );
  }
  return parsed.data;
}

/** Reads a `polls` message (see parseQueueMessage). */
export function parsePollMessage(input: unknown): PollMessage {
  return parseQueueMessage(input, pollMessageSchema, { name: POLL_QUEUE_NAME, describes: 'a poll message' });
}
