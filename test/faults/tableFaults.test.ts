/**
 * Scenario 5 — Table Storage faults: a fault-injecting proxy in front of Azurite answers 503 or 500, or resets
 * the connection, on a share of requests; a pipeline policy loses the response of some batches after they landed.
 * Writes land after the SDK's retries or the job stays due; nothing is half-written; the cycle reports its errors
 * in its summary (what /api/health shows) and in its logs.
 */
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTrafficProxy, type ProxyAction, type TrafficProxy } from '../../dev/trafficProxy';
import type { CycleReport } from '../../shared/poller/poller';
import {
  faceTruth,
  MINUTE,
  recordFigures,
  startHarness,
  stopIdentityEndpoint,
  T0,
  type FaceTimeline,
  type Harness,
  type JobSpec,
  type TablePolicy,
} from '../support/faultHarness';
import { seededRandom } from '../../dev/virtualClock';

const connectionString = inject('azuriteConnectionString');

const JOBS_PER_RESOURCE = 25;

let proxy: TrafficProxy;
let h: Harness;
const random = seededRandom(5);
const timelines = new Map<string, FaceTimeline>();
let faults: { injected: number; lostResponses: number } = { injected: 0, lostResponses: 0 };
let loseBatchResponses = 0;

/** After the write landed, the response is lost: the SDK sees a reset connection and retries the batch. */
const loseResponses: TablePolicy = {
  name: 'loseResponses',
  async sendRequest(request, next) {
    const response = await next(request);
    if (request.method === 'POST' && request.url.includes('$batch') && random() < loseBatchResponses) {
      faults.lostResponses++;
      throw Object.assign(new Error('socket hang up (response lost after the write)'), {
        name: 'RestError',
        code: 'ECONNRESET',
      });
    }
    return response;
  },
};

function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Every row of the jobs table, straight from Azurite (not through the proxy). */
async function integrityProblems(): Promise<string[]> {
  const client = TableClient.fromConnectionString(connectionString, h.tables.jobs, {
    allowInsecureConnection: true,
  });
  const rows: Record<string, unknown>[] = [];
  for await (const row of client.listEntities<Record<string, unknown>>()) rows.push(row);
  const key = (r: Record<string, unknown>): string => (typeof r.rowKey === 'string' ? r.rowKey : '');
  const due = new Map(rows.filter((r) => key(r).startsWith('due|')).map((r) => [key(r), r]));
  const problems: string[] = [];
  const fields = ['status', 'upstreamStatus', 'checkedAt', 'nextCheckAt', 'lastError', 'upstream', 'dueKey'];
  for (const job of rows.filter((r) => key(r).startsWith('job|'))) {
    const id = key(job).slice(4);
    const dueKey = typeof job.dueKey === 'string' ? job.dueKey : '';
    if (dueKey !== '') {
      const row = due.get(dueKey);
      if (row === undefined) problems.push(`${id}: its due row ${dueKey} is missing`);
      else {
        for (const f of fields) if (row[f] !== job[f]) problems.push(`${id}: due row differs in ${f}`);
        due.delete(dueKey);
      }
    }
    const newest = rows.find((r) => key(r).startsWith(`hist|${id}|`));
    if (newest?.status !== job.status)
      problems.push(`${id}: newest history ${String(newest?.status)} != ${String(job.status)}`);
  }
  for (const orphan of due.keys()) problems.push(`orphan due row ${orphan}`);
  return problems;
}

async function dueRowKeys(): Promise<Set<string>> {
  return new Set(
    (await h.rawStore.listDue(new Date(T0 + 1000 * MINUTE), { limit: 1000 })).map((d) => d.dueKey!),
  );
}

beforeAll(async () => {
  const tableOrigin = new URL(connectionString.match(/TableEndpoint=([^;]+)/)![1]!).origin;
  proxy = await startTrafficProxy(tableOrigin);
  h = await startHarness({
    connectionString,
    simulators: 2,
    tableEndpoint: `${proxy.origin}/devstoreaccount1`,
    tablePolicies: [loseResponses],
  });
  const specs: JobSpec[] = [];
  for (let sim = 0; sim < 2; sim++) {
    for (let i = 0; i < JOBS_PER_RESOURCE; i++) {
      const name = `g${sim}-${i}`;
      const startAt = T0 + Math.floor(random() * 150_000);
      const t: FaceTimeline = {
        queuedAt: startAt - 5_000,
        startAt,
        endAt: startAt + 30_000 + Math.floor(random() * 270_000),
        outcome: 'succeeded',
      };
      h.sims[sim]!.addFaceGroup(name, {
        createdAt: new Date(T0 - MINUTE),
        trainings: [
          {
            queuedAt: new Date(t.queuedAt),
            startAt: new Date(startAt),
            durationMs: t.endAt - startAt,
            outcome: 'succeeded',
          },
        ],
      });
      timelines.set(name, t);
      specs.push({ sim, kind: 'face.personGroup', personGroupId: name });
    }
  }
  await h.register(specs);
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await proxy?.stop();
  await stopIdentityEndpoint();
});

describe('Table Storage that fails a share of requests', () => {
  const reports: CycleReport[] = [];

  it('lands every write after retries, or leaves the job due; nothing is half-written', async () => {
    // Prepare: 15 % of the requests fail (503, 500 or a reset connection); 10 % of the batches lose their response.
    faults = { injected: 0, lostResponses: 0 };
    loseBatchResponses = 0.1;
    proxy.setFaults((): ProxyAction => {
      const roll = random();
      if (roll >= 0.15) return 'forward';
      faults.injected++;
      return roll < 0.05 ? { status: 503 } : roll < 0.1 ? { status: 500 } : 'reset';
    });

    // Act: four cycles, one a minute.
    for (let minute = 0; minute < 4; minute++) reports.push(await h.cycleAt(T0 + minute * MINUTE));
    proxy.setFaults(undefined);
    loseBatchResponses = 0;

    // Assess
    const problems = await integrityProblems();
    recordFigures('s5-table-faults-share', {
      tableRequests: proxy.requests.length,
      faultsInjected: faults.injected,
      batchResponsesLost: faults.lostResponses,
      cycles: reports.map((r) => ({ polled: r.polled, errors: r.errors, lostRaces: r.lostRaces })),
      halfWritten: problems.length,
    });
    expect(faults.injected).toBeGreaterThan(20);
    expect(faults.lostResponses).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    expect(reports.reduce((n, r) => n + r.polled, 0)).toBeGreaterThan(2 * JOBS_PER_RESOURCE);
    // A batch whose response was lost is recognised as this host's own write, not as a lost race. (A request
    // that fails more often than the SDK retries is a reported error: its job stays due, as checked above.)
    expect(reports.reduce((n, r) => n + r.lostRaces, 0)).toBe(0);
  });

  it('keeps a job due when its write fails for good, and reports the errors in the summary and the logs', async () => {
    // Prepare: every batch (each status write) fails, every retry too.
    const before = await dueRowKeys();
    const logsBefore = h.logs.length;
    proxy.setFaults(({ method, path }) =>
      method === 'POST' && path.includes('$batch') ? { status: 503, body: '' } : 'forward',
    );

    // Act
    const report = await h.cycleAt(T0 + 4 * MINUTE);
    proxy.setFaults(undefined);
    const summary = await h.rawStore.getCycleSummary();
    const health = await h.newServices({ store: h.rawStore }).api.health();
    const after = await dueRowKeys();
    const errorLogs = h.logs.slice(logsBefore).filter((l) => l.level === 'error');

    // Assess
    recordFigures('s5-table-faults-writes-down', {
      due: report.due,
      polled: report.polled,
      errors: report.errors,
      health: health.jsonBody,
      errorLogLines: errorLogs.length,
    });
    expect(report.due).toBeGreaterThan(0);
    expect(report.polled).toBe(0);
    expect(report.errors).toBe(report.due);
    expect(summary).toMatchObject({ startedAt: report.startedAt, polled: 0, errors: report.due });
    expect(health.jsonBody).toEqual({ status: 'degraded', lastCycle: summary }); // what GET /api/health answers
    expect(errorLogs.length).toBeGreaterThanOrEqual(report.due);
    expect(after).toEqual(before); // every job stays due, exactly as it was
    expect(await integrityProblems()).toEqual([]);
  });

  it('makes no upstream call when the budget cannot be reserved, and keeps every job due', async () => {
    // Prepare: every request to the poll-state table fails (but the cycle summary's), retries included.
    const before = await dueRowKeys();
    const calls = h.sims.map((s) => s.calls.length);
    proxy.setFaults(({ path }) => {
      const p = decodedPath(path);
      return p.includes(h.tables.state) && !p.includes("'cycle'") ? { status: 500, body: '' } : 'forward';
    });

    // Act
    const report = await h.cycleAt(T0 + 4 * MINUTE + 20_000);
    proxy.setFaults(undefined);

    // Assess
    recordFigures('s5-table-faults-budget-down', { report });
    expect(report.due).toBeGreaterThan(0);
    expect(report.polled).toBe(0);
    expect(report.errors).toBe(h.sims.length); // one per resource whose slots could not be reserved
    expect(h.sims.map((s) => s.calls.length)).toEqual(calls);
    expect(await dueRowKeys()).toEqual(before);
    expect(h.logs.some((l) => l.message === 'resource poll failed')).toBe(true);
  });

  it('stores the outcome and stops calling when a 429 pause cannot be written', async () => {
    // Prepare: the next call on resource 0 answers 429; from then on every write to the poll-state table fails.
    let failStateWrites = false;
    proxy.setFaults(({ method, path }) => {
      const p = decodedPath(path);
      const stateWrite = method !== 'GET' && p.includes(h.tables.state) && !p.includes("'cycle'");
      return failStateWrites && stateWrite ? { status: 503, body: '' } : 'forward';
    });
    h.sims[0]!.injectFault({ times: 1, response: { status: 429, headers: { 'retry-after': '30' } } });
    const callsBefore = h.sims[0]!.calls.length;
    const poller = h.newPoller({
      fetchUpstream: async (url, options) => {
        const response = await h.fetchUpstream(url, options);
        if (response.status === 429) failStateWrites = true;
        return response;
      },
    });

    // Act
    const report = await h.cycleAt(T0 + 5 * MINUTE, poller);
    proxy.setFaults(undefined);
    const calls = h.sims[0]!.calls.slice(callsBefore);
    const refused = calls.find((c) => c.status === 429)!;
    const jobs = (await h.rawStore.list({ top: 100 })).items;
    const limited = jobs.filter((j) => j.state.lastError?.code === 'RateLimited');

    // Assess
    recordFigures('s5-table-faults-pause', { report, callsToPausedResource: calls.length });
    expect(refused).toBeDefined();
    const during = calls.filter(
      (c) => c.at.getTime() > refused.at.getTime() && c.at.getTime() < refused.at.getTime() + 30_000,
    );
    expect(during).toEqual([]);
    expect(limited).toHaveLength(1);
    expect(Date.parse(limited[0]!.state.nextCheckAt!)).toBeGreaterThanOrEqual(refused.at.getTime() + 30_000);
    expect(report.errors).toBeGreaterThanOrEqual(1);
    expect(await integrityProblems()).toEqual([]);
  });

  it('catches up once the storage is back: every status equals the simulated truth', async () => {
    // Prepare
    proxy.setFaults(undefined);

    // Act
    for (let minute = 6; minute < 12; minute++) reports.push(await h.cycleAt(T0 + minute * MINUTE));
    const at = h.clock.nowMs();
    const jobs = (await h.rawStore.list({ top: 100 })).items;

    // Assess
    const wrong = jobs.filter(
      (j) => j.state.status !== faceTruth(timelines.get(j.identity.personGroupId!)!, at),
    );
    expect(jobs).toHaveLength(2 * JOBS_PER_RESOURCE);
    expect(wrong.map((j) => `${j.identity.personGroupId}: ${j.state.status}`)).toEqual([]);
    expect(await integrityProblems()).toEqual([]);
  });

  it('polls every other job when one due row is corrupt, and counts it as an error', async () => {
    // Prepare: a due row that is not a job (a status no version ever wrote), in a shard with real jobs.
    const client = TableClient.fromConnectionString(connectionString, h.tables.jobs, {
      allowInsecureConnection: true,
    });
    const corrupt = {
      partitionKey: 's3',
      rowKey: `due|${new Date(T0).toISOString()}|${'3'.repeat(32)}`,
      status: 'bogus',
    };
    await client.createEntity(corrupt);
    h.clock.set(T0 + 30 * MINUTE);
    const due = (await h.rawStore.listDue(h.clock.now(), { limit: 1000 }).catch(() => [])).length;

    // Act
    const report = await h.cycleAt(T0 + 30 * MINUTE);
    await client.deleteEntity(corrupt.partitionKey, corrupt.rowKey);

    // Assess
    recordFigures('s5-corrupt-row', { report });
    expect(report.polled).toBeGreaterThan(0);
    expect(report.polled).toBeGreaterThanOrEqual(due);
    expect(report.errors).toBe(1);
    expect(
      h.logs.some((l) => l.level === 'error' && JSON.stringify(l.properties).includes(corrupt.rowKey)),
    ).toBe(true);
  });
});
