import {
  app,
  type HttpHandler,
  type HttpMethod,
  type HttpRequest,
  type HttpResponseInit,
  type InvocationContext,
  type StorageQueueHandler,
  type Timer,
  type TimerHandler,
} from '@azure/functions';
import { toErrorResponse } from '../shared/api/errors';
import type { Logger } from '../shared/logger';

/** One row of the function table: the Functions host and the local host both read these. */
export type FunctionDefinition =
  | {
      name: string;
      trigger: 'http';
      route: string;
      methods: HttpMethod[];
      authLevel: 'anonymous' | 'function' | 'admin';
      handler: HttpHandler;
    }
  | { name: string; trigger: 'timer'; schedule: string; handler: TimerHandler }
  | {
      name: string;
      trigger: 'storageQueue';
      /** Queue name, or `%SETTING%`. */
      queueName: string;
      /** Prefix of the connection settings (`POLL_QUEUE` → `POLL_QUEUE` or `POLL_QUEUE__queueServiceUri`). */
      connection: string;
      handler: StorageQueueHandler;
    };

/** Registers an HTTP function with the host and returns its table row. */
export function httpFunction(
  name: string,
  options: {
    route: string;
    methods: HttpMethod[];
    authLevel: 'anonymous' | 'function' | 'admin';
    handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
  },
): FunctionDefinition {
  const handler: HttpHandler = async (request, context) => {
    try {
      return await options.handler(request, context);
    } catch (error) {
      return toErrorResponse(error, contextLogger(context));
    }
  };
  // HEAD on every GET route (docs/spec.md §7): the handler answers as for GET; the host sends no body.
  const methods: HttpMethod[] =
    options.methods.includes('GET') && !options.methods.includes('HEAD')
      ? [...options.methods, 'HEAD']
      : options.methods;
  app.http(name, { route: options.route, methods, authLevel: options.authLevel, handler });
  return {
    name,
    trigger: 'http',
    route: options.route,
    methods,
    authLevel: options.authLevel,
    handler,
  };
}

/** Registers a timer function with the host and returns its table row. */
export function timerFunction(
  name: string,
  options: { schedule: string; handler: (timer: Timer, context: InvocationContext) => Promise<void> },
): FunctionDefinition {
  app.timer(name, { schedule: options.schedule, handler: options.handler });
  return { name, trigger: 'timer', schedule: options.schedule, handler: options.handler };
}

/**
 * Registers a Storage-queue-triggered function with the host and returns its table row. The host decodes the
 * message (base64 by default, `host.json` `extensions.queues.messageEncoding`) and, for JSON text, passes the
 * parsed object; `context.triggerMetadata` carries `dequeueCount`, `id`, `insertionTime`. A handler that throws
 * leaves the message to be retried; after `maxDequeueCount` (5) it goes to `<queue>-poison`.
 */
export function queueFunction(
  name: string,
  options: {
    queueName: string;
    connection: string;
    handler: (message: unknown, context: InvocationContext) => Promise<void>;
  },
): FunctionDefinition {
  app.storageQueue(name, {
    queueName: options.queueName,
    connection: options.connection,
    handler: options.handler,
  });
  return {
    name,
    trigger: 'storageQueue',
    queueName: options.queueName,
    connection: options.connection,
    handler: options.handler,
  };
}

/**
 * Structured logs through the invocation context: the message, then its properties as one JSON object, so
 * Application Insights keeps them queryable (`parse_json(extract('{.*}', 0, message))`).
 */
export function contextLogger(context: InvocationContext): Logger {
  const line = (message: string, properties?: Record<string, unknown>): string =>
    properties ? `${message} ${JSON.stringify(properties)}` : message;
  return {
    info: (message, properties) => context.info(line(message, properties)),
    warn: (message, properties) => context.warn(line(message, properties)),
    error: (message, properties) => context.error(line(message, properties)),
  };
}

/** Where the host leaves a request's signal maker (a property of the request: no table to keep up per request). */
const ABORT_SIGNAL = Symbol('requestAbortSignal');
type WithAbortSignal = HttpRequest & { [ABORT_SIGNAL]?: () => AbortSignal };

/**
 * Ties a request to the signal that fires when its client goes away. The local host sets one per request, as a
 * maker the signal is built by on first ask: only a request that may wait (a long-poll) asks, so a plain read
 * builds no AbortController and adds no listener. @azure/functions 4.x gives the handler no such signal, so on
 * Azure a long-poll runs to its end (at most 200 s).
 */
export function setRequestAbortSignal(request: HttpRequest, signal: () => AbortSignal): void {
  (request as WithAbortSignal)[ABORT_SIGNAL] = signal;
}

/** The signal that fires when the request's client goes away, when the host gives one. */
export function requestAbortSignal(request: HttpRequest): AbortSignal | undefined {
  return (request as WithAbortSignal)[ABORT_SIGNAL]?.();
}

/** The scheme and host the caller used, for Location and nextLink. */
export function baseUrlOf(request: HttpRequest): string {
  return new URL(request.url).origin;
}
