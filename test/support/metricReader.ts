import type { Attributes, Meter } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type HistogramMetricData,
} from '@opentelemetry/sdk-metrics';
import { createTelemetry, METER_NAME, type Telemetry } from '../../shared/telemetry';

/** One data point as a test reads it: a counter's value, or a histogram's count and sum. */
export interface Point {
  name: string;
  attributes: Attributes;
  value?: number;
  count?: number;
  sum?: number;
}

export interface MetricReaderForTests {
  provider: MeterProvider;
  /** For the composition root (`ServiceOverrides.metrics`). */
  meter: Meter;
  flush(): Promise<void>;
  telemetry: Telemetry;
  /** Every data point recorded so far (cumulative). */
  collect(): Promise<Point[]>;
  shutdown(): Promise<void>;
}

/** The app's instruments on an SDK meter provider whose reader keeps what it exports in memory. */
export function inMemoryMetrics(): MetricReaderForTests {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const provider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
  });
  return {
    provider,
    meter: provider.getMeter(METER_NAME),
    flush: () => provider.forceFlush(),
    telemetry: createTelemetry(provider.getMeter(METER_NAME)),
    collect: async () => {
      exporter.reset();
      await provider.forceFlush();
      return exporter.getMetrics().flatMap((resource) =>
        resource.scopeMetrics.flatMap((scope) =>
          scope.metrics.flatMap((metric) =>
            metric.dataPoints.map((point): Point => {
              const name = metric.descriptor.name;
              if (typeof point.value === 'number')
                return { name, attributes: point.attributes, value: point.value };
              const histogram = (point as HistogramMetricData['dataPoints'][number]).value;
              return { name, attributes: point.attributes, count: histogram.count, sum: histogram.sum ?? 0 };
            }),
          ),
        ),
      );
    },
    shutdown: () => provider.shutdown(),
  };
}
