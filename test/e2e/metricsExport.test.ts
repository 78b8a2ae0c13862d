/**
 * The compiled app as `npm start` runs it, with APPLICATIONINSIGHTS_CONNECTION_STRING naming a local ingestion
 * endpoint of this test (https: the exporter upgrades any endpoint to https; its certificate is trusted through
 * NODE_EXTRA_CA_CERTS): the real Azure Monitor exporter sends the metrics of docs/spec.md §11 there.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteInstance } from '../../dev/azurite';
import { createSelfSignedCert } from '../../dev/certs';
import { systemClock } from '../../shared/clock';
import { encodeClaim } from '../../shared/poller/handOff';
import { POLL_QUEUE_NAME } from '../../shared/queue/message';
import { createPollQueueClient, StoragePollQueue } from '../../shared/queue/storagePollQueue';
import { METRICS } from '../../shared/telemetry';
import { runAppUntilExit, startAppProcess, type AppProcess } from '../support/appProcess';
import { startIngestionStandIn, TEST_INSTRUMENTATION_KEY, type IngestionStandIn } from '../support/ingestion';

let dir: string;
let trust: Record<string, string>;
/** Export every hour: what arrives was flushed by a timer run. Entra ID through the identity stand-in. */
let flushing: { app: AppProcess; ingestion: IngestionStandIn };
/** Export every 250 ms, no timer run (hourly schedule): what arrives came with the export interval. */
let periodic: { app: AppProcess; ingestion: IngestionStandIn };
/** Export every hour, no timer run (yearly schedule), storage of the test's own: what arrives a queued poll flushed. */
let queued: { app: AppProcess; ingestion: IngestionStandIn };
let queuedStorage: AzuriteInstance;

beforeAll(async () => {
  const tls = await createSelfSignedCert(['127.0.0.1']);
  dir = mkdtempSync(path.join(os.tmpdir(), 'metrics-e2e-'));
  const ca = path.join(dir, 'ca.pem');
  // NODE_EXTRA_CA_CERTS may already name a bundle: keep it, and add the stand-in's certificate.
  const existing = process.env.NODE_EXTRA_CA_CERTS
    ? readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8')
    : '';
  writeFileSync(ca, `${existing}\n${tls.cert}\n`);
  trust = { NODE_EXTRA_CA_CERTS: ca };
  const start = async (settings: Record<string, string>) => {
    const ingestion = await startIngestionStandIn(tls);
    const app = await startAppProcess({
      ...trust,
      APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
      ...settings,
    });
    return { app, ingestion };
  };
  queuedStorage = await startAzurite();
  [flushing, periodic, queued] = await Promise.all([
    start({
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
      OTEL_METRIC_EXPORT_INTERVAL: '3600000',
    }),
    start({ OTEL_METRIC_EXPORT_INTERVAL: '250', POLL_SCHEDULE: '0 0 * * * *' }),
    start({
      OTEL_METRIC_EXPORT_INTERVAL: '3600000',
      POLL_SCHEDULE: '0 0 0 1 1 *',
      AzureWebJobsStorage: queuedStorage.connectionString,
    }),
  ]);
}, 120_000);

afterAll(async () => {
  for (const side of [flushing, periodic, queued]) {
    await side?.app.stop();
    await side?.ingestion.stop();
  }
  await queuedStorage?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const namesOf = (ingestion: IngestionStandIn): Set<string> => new Set(ingestion.metrics.map((m) => m.name));

async function demoJobIds(app: AppProcess): Promise<string[]> {
  const list = (await (await fetch(`${app.url}/api/jobs`)).json()) as { value: { id: string }[] };
  return list.value.map((j) => j.id);
}

describe('metric export to Application Insights', () => {
  it('sends the cycle, poll, upstream and transition metrics when a timer run ends, with an Entra ID token', async () => {
    // Prepare
    const { app, ingestion } = flushing;

    // Act: run the poll cycle now, as Core Tools does for a timer function.
    const run = await fetch(`${app.url}/admin/functions/pollJobs`, { method: 'POST', body: '{"input":""}' });

    // Assess
    expect(run.status).toBe(202);
    const wanted = [
      METRICS.polls,
      METRICS.upstreamDuration,
      METRICS.cycleDuration,
      METRICS.cyclePolled,
      METRICS.cycleHandedOff,
      METRICS.cycleDeferred,
      METRICS.transitions,
    ];
    await ingestion.waitFor(() => wanted.every((name) => namesOf(ingestion).has(name)), 30_000);
    const polls = ingestion.metrics.filter((m) => m.name === METRICS.polls);
    const ok = polls.find((m) => m.properties.outcome === 'ok');
    expect(typeof ok?.properties.kind).toBe('string');
    expect(typeof ok?.properties.resource).toBe('string');
    expect(ingestion.metrics.find((m) => m.name === METRICS.cycleDuration)?.count).toBeGreaterThanOrEqual(1);
    expect(ingestion.metrics.every((m) => m.iKey === TEST_INSTRUMENTATION_KEY)).toBe(true);
    expect(ingestion.metrics.every((m) => (Object.values(METRICS) as string[]).includes(m.name))).toBe(true);
    expect(ingestion.requests.length).toBeGreaterThan(0);
    for (const request of ingestion.requests) {
      expect(request.path).toBe('/v2.1/track');
      expect(request.headers.authorization).toMatch(/^Bearer \S+$/);
    }
  });

  it('sends what a refresh and a status read record at the export interval, without a timer run', async () => {
    // Prepare
    const { app, ingestion } = periodic;
    const [id] = await demoJobIds(app);

    // Act
    const refreshed = await fetch(`${app.url}/api/jobs/${id}/refresh`, { method: 'POST' });
    const read = await fetch(`${app.url}/api/jobs/${id}/status`);

    // Assess
    expect([refreshed.status, read.status]).toEqual([200, 200]);
    await ingestion.waitFor(
      (metrics) =>
        [METRICS.polls, METRICS.upstreamDuration, METRICS.statusAge].every((n) =>
          metrics.some((m) => m.name === n),
        ),
      30_000,
    );
    const age = ingestion.metrics.find((m) => m.name === METRICS.statusAge)!;
    expect(typeof age.properties.kind).toBe('string');
    expect(age.value).toBeGreaterThanOrEqual(0);
    expect(ingestion.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('sends what a queued poll records when its message is handled, without a timer run', async () => {
    // Prepare: a hand-off as a cycle makes it, for a demo job that is due (never polled: no timer ran).
    const { app, ingestion } = queued;
    const [id] = await demoJobIds(app);
    const job = (await (await fetch(`${app.url}/api/jobs/${id}`)).json()) as {
      endpoint: string;
      status: { nextCheckAt: string };
    };
    const now = Date.now();
    const claim = { jobId: id!, token: 'e2e', due: Date.parse(job.status.nextCheckAt), until: now + 120_000 };
    const queue = new StoragePollQueue({
      client: createPollQueueClient({
        connectionString: queuedStorage.connectionString,
        queueName: POLL_QUEUE_NAME,
      }),
      clock: systemClock,
    });

    // Act
    await queue.send({
      v: 1,
      jobId: id!,
      claim: encodeClaim(claim),
      slotAt: new Date(now + 1_000).toISOString(),
      resource: new URL(job.endpoint).host,
    });

    // Assess
    await ingestion.waitFor(
      (metrics) => [METRICS.polls, METRICS.upstreamDuration].every((n) => metrics.some((m) => m.name === n)),
      20_000,
    );
    const polls = ingestion.metrics.filter((m) => m.name === METRICS.polls);
    expect(polls.some((m) => m.properties.outcome === 'ok')).toBe(true);
    expect(ingestion.metrics.some((m) => m.name === METRICS.cycleDuration)).toBe(false);
  });

  it('refuses to start with a bad connection string, listed with the other settings problems', async () => {
    // Act
    const { code, output } = await runAppUntilExit({
      ...trust,
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=not-a-key',
      OTEL_METRIC_EXPORT_INTERVAL: 'soon',
    });

    // Assess
    expect(code).toBe(1);
    expect(output).toMatch(/APPLICATIONINSIGHTS_CONNECTION_STRING: needs InstrumentationKey=<GUID>/);
    expect(output).toMatch(/OTEL_METRIC_EXPORT_INTERVAL: must be a whole number/);
    expect(output).not.toContain('not-a-key');
  }, 60_000);
});
