import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACE_ERROR_RESPONSES } from '../../dev/simulator/facePersonGroup';
import { startTestStack, type TestStack } from '../support/testStack';

/** The log lines the workbook and alerts in infra/ query (KQL over `traces`) carry the fields they read. */
let t: TestStack;

beforeAll(async () => {
  t = await startTestStack({ simulators: { main: {}, throttled: { budget: '60/min' } } });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

function structured(message: string): Record<string, unknown>[] {
  return t.logs
    .filter((line) => line.includes(` ${message} {`))
    .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>);
}

describe('telemetry', () => {
  it('logs every poll with job id, kind, resource, outcome, status and upstream latency, and every cycle with its figures', async () => {
    // Prepare
    const now = Date.now();
    t.sims.main!.addFaceGroup('tele-ok', {
      createdAt: new Date(now - 600_000),
      trainings: [{ startAt: new Date(now - 60_000), durationMs: 3_600_000, outcome: 'succeeded' }],
    });
    t.sims.throttled!.addFaceGroup('tele-429', { createdAt: new Date(now - 600_000), trainings: [] });
    const ok = await t.register('main', { kind: 'face.personGroup', personGroupId: 'tele-ok' });
    const limited = await t.register('throttled', { kind: 'face.personGroup', personGroupId: 'tele-429' });
    t.sims.throttled!.injectFault({ response: FACE_ERROR_RESPONSES.rateLimited429 });

    // Act
    await t.runCycle();

    // Assess
    const polls = structured('job polled');
    const okPoll = polls.find((p) => p.jobId === ok);
    const limitedPoll = polls.find((p) => p.jobId === limited);
    expect(okPoll).toMatchObject({
      kind: 'face.personGroup',
      resource: new URL(t.sims.main!.origin).host,
      outcome: 'ok',
      status: 'running',
    });
    expect(typeof okPoll?.durationMs).toBe('number');
    expect(limitedPoll).toMatchObject({
      outcome: 'RateLimited',
      httpStatus: 429,
      resource: new URL(t.sims.throttled!.origin).host,
    });
    expect(structured('resource paused')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ resource: new URL(t.sims.throttled!.origin).host, code: 'RateLimited' }),
      ]),
    );
    const cycle = structured('poll cycle finished').at(-1);
    expect(cycle).toMatchObject({ polled: 2, errors: 0, upstreamErrors: 1 }); // a 429 is the upstream's answer
    expect(typeof cycle?.durationMs).toBe('number');
  });

  it('exports no metrics without APPLICATIONINSIGHTS_CONNECTION_STRING: the exporter is not even loaded', async () => {
    // Prepare
    expect(process.env.APPLICATIONINSIGHTS_CONNECTION_STRING).toBeUndefined();
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'tele-ok' });

    // Act: a timer run (which flushes metrics when export is on) and a status read.
    await t.runCycle();
    expect((await t.call(`/api/jobs/${id}/status`)).status).toBe(200);

    // Assess
    const loaded = Object.keys(require.cache).filter((file) =>
      /[\\/]@(azure[\\/]monitor-opentelemetry-exporter|opentelemetry[\\/]sdk-metrics)[\\/]/.test(file),
    );
    expect(loaded).toEqual([]);
    expect(t.logs.filter((line) => line.includes('metrics not exported'))).toEqual([]);
  });
});
