import { JOB_ID_PATTERN } from '../model';
import { EVENT_TYPES, type EventType } from '../notifications/types';
import { checkWebhookUrl } from '../notifications/webhookUrl';
import { invalidArgument, type ErrorDetail } from './errors';
import { parseJsonObjectBody } from './jsonBody';
import {
  hasControlCharacters,
  MAX_BODY_BYTES,
  MAX_ERROR_DETAILS,
  MAX_JSON_DEPTH,
  truncate,
} from './registration';

/** Most job ids one subscription may name. */
export const MAX_SUBSCRIPTION_JOB_IDS = 100;
export const MAX_DESCRIPTION_LENGTH = 200;
const FIELDS = new Set(['url', 'events', 'kinds', 'jobIds', 'description']);

/** A validated `POST /api/subscriptions` body (docs/spec.md §7, §12). */
export interface SubscriptionRequest {
  /** Normalized (`URL.href`). */
  url: string;
  /** Both types when the body names none. */
  events: EventType[];
  kinds?: string[];
  jobIds?: string[];
  description?: string;
}

export interface SubscriptionBodyContext {
  listKinds(): readonly string[];
  /** `ALLOWED_WEBHOOK_ORIGINS`, normalized. */
  allowedWebhookOrigins: readonly string[];
}

/**
 * Validates a subscription body (raw text, at most 16 KiB). Throws an InvalidArgument ApiError whose `target` is
 * the first problem (`url` first) and whose `details` list every problem.
 */
export function parseSubscriptionBody(
  bodyText: string,
  contentType: string | null,
  context: SubscriptionBodyContext,
): SubscriptionRequest {
  const input = parseJsonObjectBody(bodyText, contentType, {
    maxBytes: MAX_BODY_BYTES,
    maxDepth: MAX_JSON_DEPTH,
  });
  const problems: ErrorDetail[] = [];
  const problem = (target: string, message: string): void => {
    problems.push({ code: 'InvalidArgument', target, message });
  };

  const url = checkWebhookUrl(input.url, context.allowedWebhookOrigins);
  if (!url.ok) problem('url', `'url' is not allowed: ${url.message}`);

  const events = stringList(input.events, 'events', EVENT_TYPES.length, problem, (v) =>
    (EVENT_TYPES as readonly string[]).includes(v) ? undefined : `one of ${EVENT_TYPES.join(', ')}`,
  ) as EventType[] | undefined;
  const kinds = stringList(input.kinds, 'kinds', context.listKinds().length, problem, (v) =>
    context.listKinds().includes(v) ? undefined : `a kind: one of ${context.listKinds().join(', ')}`,
  );
  const jobIds = stringList(input.jobIds, 'jobIds', MAX_SUBSCRIPTION_JOB_IDS, problem, (v) =>
    JOB_ID_PATTERN.test(v) ? undefined : 'a job id (32 lowercase hex characters)',
  );

  let description: string | undefined;
  if (input.description !== undefined) {
    const d = input.description;
    if (
      typeof d === 'string' &&
      d.length <= MAX_DESCRIPTION_LENGTH &&
      !hasControlCharacters(d) &&
      !/\p{Cs}/u.test(d)
    ) {
      description = d;
    } else {
      problem(
        'description',
        `'description' must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters (printable, valid Unicode).`,
      );
    }
  }
  for (const name of Object.keys(input)) {
    if (!FIELDS.has(name)) problem(truncate(name), `Unknown property '${truncate(name)}'.`);
  }

  const first = problems[0];
  if (first !== undefined || !url.ok) {
    throw invalidArgument(
      first?.message ?? 'The subscription is not valid.',
      first?.target ?? 'body',
      problems.slice(0, MAX_ERROR_DETAILS),
    );
  }
  return {
    url: url.url,
    events: events ?? [...EVENT_TYPES],
    ...(kinds !== undefined ? { kinds } : {}),
    ...(jobIds !== undefined ? { jobIds } : {}),
    ...(description !== undefined ? { description } : {}),
  };
}

/**
 * An optional list of strings: absent → undefined; else a non-empty array of at most `max` valid strings
 * (duplicates dropped). `invalid` returns what a value should be, or undefined when it is fine.
 */
function stringList(
  value: unknown,
  name: string,
  max: number,
  problem: (target: string, message: string) => void,
  invalid: (value: string) => string | undefined,
): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    problem(name, `'${name}' must be a non-empty array of at most ${max} strings (leave it out for all).`);
    return undefined;
  }
  const out: string[] = [];
  let ok = true;
  value.forEach((item: unknown, i) => {
    const expected = typeof item === 'string' ? invalid(item) : 'a string';
    if (expected !== undefined) {
      ok = false;
      const shown = typeof item === 'string' ? `'${truncate(item)}'` : 'This value';
      problem(`${name}[${i}]`, `${shown} is not valid in '${name}': expected ${expected}.`);
    } else if (!out.includes(item as string)) {
      out.push(item as string);
    }
  });
  return ok ? out : undefined;
}
