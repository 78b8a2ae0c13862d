/**
 * The app's metrics (docs/spec.md §11), over `@opentelemetry/api`: each instrument is named once here, and the
 * rest of the code records through the small `Telemetry` interface (an optional dependency: none given, nothing
 * is recorded). Without a meter provider every call is a no-op. Where the metrics go (Azure Monitor, or an
 * in-memory reader in tests) is decided by the composition root, which hands a `Meter` to `createTelemetry`.
 * Code that loads when the app is imported imports only the type, so that import does not load
 * @opentelemetry/api (bench 4).
 */
import { metrics, ValueType, type Meter } from '@opentelemetry/api';

/** Every metric the app emits: the workbook and alert queries in infra/ may name only these (infra checks). */
export const METRICS = {
  polls: 'statuscache.polls',
  upstreamDuration: 'statuscache.upstream.duration',
  cycleDuration: 'statuscache.cycle.duration',
  cyclePolled: 'statuscache.cycle.polled',
  cycleHandedOff: 'statuscache.cycle.handedOff',
  cycleDeferred: 'statuscache.cycle.deferred',
  transitions: 'statuscache.transitions',
  resourcePaused: 'statuscache.resource.paused',
  statusAge: 'statuscache.status.age',
  webhookDeliveries: 'statuscache.webhook.deliveries',
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];

/** The instrumentation scope of the app's meter. */
export const METER_NAME = 'training-status-cache';

export interface Telemetry {
  /** One poll of one job ended: `outcome` is `ok` or the `lastError.code`. */
  polled(attributes: { kind: string; resource: string; outcome: string }): void;
  /** One upstream call (a 401 retry is a second call); `httpStatus` 0: no answer (timeout, connection error). */
  upstreamCalled(
    durationMs: number,
    attributes: { kind: string; resource: string; httpStatus: number },
  ): void;
  /** A poll cycle ended. `handedOff`: jobs handed to the polls queue (0 when the cycle hands none off). */
  cycleFinished(cycle: { durationMs: number; polled: number; deferred: number; handedOff?: number }): void;
  /** A job's status moved (`status`: the new one). */
  transitioned(attributes: { kind: string; status: string }): void;
  /** A 429 or a quota 403 paused a whole resource. */
  resourcePaused(attributes: { resource: string; reason: 'RateLimited' | 'QuotaExceeded' }): void;
  /** A status read served a status checked `ageSeconds` ago. */
  statusRead(ageSeconds: number, attributes: { kind: string }): void;
  /** One webhook delivery attempt ended. */
  webhookDelivered(attributes: { outcome: 'delivered' | 'retried' | 'failed' }): void;
}

/** Status ages (s): from a fresh read to a day-old one. */
const AGE_BUCKETS_SECONDS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21_600, 86_400];

/** The instruments of the app on `meter` (default: the global meter provider's, a no-op until one is set). */
export function createTelemetry(meter: Meter = metrics.getMeter(METER_NAME)): Telemetry {
  const counter = (name: MetricName, unit: string, description: string) =>
    meter.createCounter(name, { description, unit, valueType: ValueType.INT });
  const polls = counter(
    METRICS.polls,
    '{poll}',
    'Polls of a job, by kind, resource and outcome (ok or the lastError code).',
  );
  const histogram = (name: MetricName, unit: string, description: string, buckets?: number[]) =>
    meter.createHistogram(name, {
      description,
      unit,
      ...(buckets ? { advice: { explicitBucketBoundaries: buckets } } : {}),
    });
  const upstreamDuration = histogram(
    METRICS.upstreamDuration,
    'ms',
    'Duration of one upstream call, by kind, resource and HTTP status (0: no answer).',
  );
  const cycleDuration = histogram(METRICS.cycleDuration, 'ms', 'Duration of one poll cycle.');
  const cyclePolled = counter(METRICS.cyclePolled, '{job}', 'Jobs a poll cycle polled and stored.');
  const cycleHandedOff = counter(
    METRICS.cycleHandedOff,
    '{job}',
    'Jobs a poll cycle handed to the polls queue.',
  );
  const cycleDeferred = counter(
    METRICS.cycleDeferred,
    '{job}',
    'Due jobs a poll cycle left for a later one.',
  );
  const transitions = counter(
    METRICS.transitions,
    '{transition}',
    'Status changes of jobs, by kind and new status.',
  );
  const resourcePaused = counter(
    METRICS.resourcePaused,
    '{pause}',
    'Pauses of a whole upstream resource, by resource and reason.',
  );
  const statusAge = histogram(
    METRICS.statusAge,
    's',
    'Age of the status served by a status read (now - checkedAt), by kind.',
    AGE_BUCKETS_SECONDS,
  );
  const webhookDeliveries = counter(
    METRICS.webhookDeliveries,
    '{delivery}',
    'Webhook delivery attempts, by outcome.',
  );
  return {
    polled: (attributes) => polls.add(1, attributes),
    upstreamCalled: (durationMs, attributes) => upstreamDuration.record(durationMs, attributes),
    cycleFinished: ({ durationMs, polled, deferred, handedOff = 0 }) => {
      cycleDuration.record(durationMs);
      cyclePolled.add(polled);
      cycleHandedOff.add(handedOff);
      cycleDeferred.add(deferred);
    },
    transitioned: (attributes) => transitions.add(1, attributes),
    resourcePaused: (attributes) => resourcePaused.add(1, attributes),
    statusRead: (ageSeconds, attributes) => statusAge.record(Math.max(0, ageSeconds), attributes),
    webhookDelivered: (attributes) => webhookDeliveries.add(1, attributes),
  };
}
