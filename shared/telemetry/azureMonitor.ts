/**
 * Metric export to Application Insights (`customMetrics`): a meter provider whose periodic reader hands the
 * app's metrics to the Azure Monitor exporter every `OTEL_METRIC_EXPORT_INTERVAL`, and on `flush()`.
 *
 * Heavy (the SDK and the exporter load in ~160 ms): the composition root imports this module only when
 * `APPLICATIONINSIGHTS_CONNECTION_STRING` is set, and only when it builds the services, never at app import.
 */
import { AzureMonitorMetricExporter } from '@azure/monitor-opentelemetry-exporter';
import type { TokenCredential } from '@azure/identity';
import type { Meter } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { TelemetrySettings } from '../config';
import { coalescedFlush } from './coalescedFlush';
import { METER_NAME } from './index';

export interface MetricExport {
  meter: Meter;
  /**
   * Exports what is recorded so far (after a timer run or a queued poll: an instance scaled in afterwards loses
   * nothing). Calls that overlap share exports: at most the one in progress and one more.
   */
  flush(): Promise<void>;
  /** Exports what is left and stops the periodic export. */
  shutdown(): Promise<void>;
}

/** The longest one export may take (the reader requires it to be at most the interval). */
const EXPORT_TIMEOUT_MS = 30_000;

export function startAzureMonitorExport(
  settings: TelemetrySettings,
  /** The managed identity, for `APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD`. */
  credential?: () => TokenCredential,
): MetricExport {
  const exporter = new AzureMonitorMetricExporter({
    connectionString: settings.connectionString,
    ...(settings.entraId && credential ? { credential: credential() } : {}),
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': METER_NAME }),
    readers: [
      new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: settings.exportIntervalMs,
        exportTimeoutMillis: Math.min(EXPORT_TIMEOUT_MS, settings.exportIntervalMs),
      }),
    ],
  });
  return {
    meter: provider.getMeter(METER_NAME),
    flush: coalescedFlush(() => provider.forceFlush()),
    shutdown: () => provider.shutdown(),
  };
}
