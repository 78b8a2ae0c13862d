import { metrics } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { createTelemetry, METRICS } from '../../shared/telemetry';
import { inMemoryMetrics } from '../support/metricReader';

const reader = inMemoryMetrics();

afterEach(() => {
  metrics.disable();
});

describe('telemetry', () => {
  it('counts webhook deliveries by outcome', async () => {
    // Act
    reader.telemetry.webhookDelivered({ outcome: 'delivered' });
    reader.telemetry.webhookDelivered({ outcome: 'retried' });
    reader.telemetry.webhookDelivered({ outcome: 'retried' });

    // Assess
    const points = (await reader.collect()).filter((p) => p.name === METRICS.webhookDeliveries);
    expect(points.map((p) => ({ ...p.attributes, value: p.value }))).toEqual(
      expect.arrayContaining([
        { outcome: 'delivered', value: 1 },
        { outcome: 'retried', value: 2 },
      ]),
    );
  });

  it('records no status age below zero (a checkedAt slightly ahead of this instance clock)', async () => {
    // Act
    reader.telemetry.statusRead(-0.4, { kind: 'face.personGroup' });

    // Assess
    const age = (await reader.collect()).find((p) => p.name === METRICS.statusAge);
    expect(age).toMatchObject({ count: 1, sum: 0 });
  });

  it('uses the global meter provider when one is registered, and records nothing without one', async () => {
    // Prepare
    const global = inMemoryMetrics();
    const before = createTelemetry();
    metrics.setGlobalMeterProvider(global.provider);

    // Act
    before.polled({ kind: 'k', resource: 'r', outcome: 'ok' });
    createTelemetry().polled({ kind: 'k', resource: 'r', outcome: 'RateLimited' });

    // Assess
    const polls = (await global.collect()).filter((p) => p.name === METRICS.polls);
    expect(polls.map((p) => p.attributes.outcome)).toEqual(['RateLimited']);
    await global.shutdown();
  });
});
