import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import type { Job, JobState, JobStatus } from '../../shared/model';
import {
  createTableClientFactory,
  InvalidContinuationTokenError,
  TableJobStore,
} from '../../shared/store/tableJobStore';
import type { PollHandle } from '../../shared/store/types';

const connectionString = inject('azuriteConnectionString');

type Policy = Parameters<TableClient['pipeline']['addPolicy']>[0];

interface RecordedCall {
  method: string;
  url: string;
  status: number;
  /** Entities in the response body: the length of `value` for a query, 1 for a point read. */
  entities: number;
  body: string | undefined;
}

function countEntities(body: string | undefined): number {
  if (body === undefined || !body.startsWith('{')) return 0;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null) return 0;
    if ('value' in parsed && Array.isArray(parsed.value)) return parsed.value.length;
    return 'RowKey' in parsed ? 1 : 0;
  } catch {
    return 0;
  }
}

function randomLetters(n: number): string {
  return Array.from(randomBytes(n), (b) => String.fromCharCode(97 + (b % 26))).join('');
}

/**
 * A store on fresh tables, with every HTTP call it makes recorded; `other` is a second instance on the same tables
 * (another host of the app).
 */
async function newStore(): Promise<{ store: TableJobStore; calls: RecordedCall[]; other: TableJobStore }> {
  const calls: RecordedCall[] = [];
  const recorder: Policy = {
    name: 'recordCalls',
    async sendRequest(request, next) {
      const response = await next(request);
      calls.push({
        method: request.method,
        url: request.url,
        status: response.status,
        entities: countEntities(response.bodyAsText ?? undefined),
        body: response.bodyAsText ?? undefined,
      });
      return response;
    },
  };
  const suffix = randomLetters(10);
  const store = new TableJobStore({
    tableClient: createTableClientFactory({
      connectionString,
      clientOptions: { additionalPolicies: [{ policy: recorder, position: 'perRetry' }] },
    }),
    tables: { jobs: `jobs${suffix}`, state: `state${suffix}` },
  });
  await store.initialize();
  calls.length = 0;
  const other = new TableJobStore({
    tableClient: createTableClientFactory({ connectionString }),
    tables: { jobs: `jobs${suffix}`, state: `state${suffix}` },
  });
  return { store, calls, other };
}

function newId(firstHex?: string): string {
  const id = randomBytes(16).toString('hex');
  return firstHex === undefined ? id : firstHex + id.slice(1);
}

function pendingState(nextCheckAt: string | null, changedAt = '2030-01-01T00:00:00.000Z'): JobState {
  return {
    status: 'pending',
    upstreamStatus: null,
    upstream: null,
    checkedAt: null,
    changedAt,
    nextCheckAt,
    lastError: null,
    consecutiveFailures: 0,
  };
}

function newJob(
  options: { id?: string; kind?: string; nextCheckAt?: string | null; status?: JobStatus } = {},
): Job {
  const state = pendingState(
    options.nextCheckAt === undefined ? '2030-01-01T00:00:00.000Z' : options.nextCheckAt,
  );
  if (options.status !== undefined) state.status = options.status;
  return {
    id: options.id ?? newId(),
    kind: options.kind ?? 'face.personGroup',
    endpoint: 'https://myface.cognitiveservices.azure.com',
    keySecretName: 'face-key',
    apiVersion: 'v1.0',
    pollIntervalSeconds: 60,
    identity: { personGroupId: 'group-1' },
    createdAt: '2030-01-01T00:00:00.000Z',
    state,
  };
}

function runningState(at: string, nextCheckAt: string | null, percentComplete = 10): JobState {
  return {
    status: 'running',
    upstreamStatus: 'running',
    percentComplete,
    upstream: { status: 'running' },
    checkedAt: at,
    changedAt: at,
    nextCheckAt,
    lastError: null,
    consecutiveFailures: 0,
  };
}

async function allHistory(store: TableJobStore, id: string): Promise<string[]> {
  const page = await store.listHistory(id, { top: 100 });
  return page.items.map((h) => `${h.status}@${h.at}`);
}

describe('TableJobStore against Azurite', () => {
  it('register then get returns every field of the job unchanged', async () => {
    // Prepare
    const { store } = await newStore();
    const full: Job = {
      ...newJob({ kind: 'language.textAuthoring' }),
      apiVersion: '2022-05-01',
      pollIntervalSeconds: 45,
      displayName: "Ünïcode 'quoted' name",
      identity: { projectName: 'proj', jobId: 'job-1' },
      state: {
        status: 'running',
        upstreamStatus: 'running',
        percentComplete: 42.5,
        estimatedEndDateTime: '2030-01-01T01:00:00Z',
        message: 'training',
        upstream: { result: { trainingStatus: { percentComplete: 42.5 } }, warnings: [] },
        upstreamUpdatedAt: '2030-01-01T00:00:30Z',
        checkedAt: '2030-01-01T00:00:31.000Z',
        changedAt: '2030-01-01T00:00:31.000Z',
        nextCheckAt: '2030-01-01T00:01:31.000Z',
        lastError: {
          code: 'RateLimited',
          message: 'slow down',
          httpStatus: 429,
          upstreamCode: '429',
          at: '2030-01-01T00:00:20.000Z',
          retryAt: '2030-01-01T00:00:25.000Z',
        },
        consecutiveFailures: 2,
      },
    };
    const minimal = newJob({ nextCheckAt: null });

    // Act
    const registered = await store.register(full);
    await store.register(minimal);
    const readFull = await store.get(full.id);
    const readMinimal = await store.get(minimal.id);

    // Assess
    expect(registered).toStrictEqual({ job: full, created: true });
    expect(readFull).toStrictEqual(full);
    expect(readMinimal).toStrictEqual(minimal);
  });

  it('registering the same id twice returns created:false and the original job', async () => {
    // Prepare
    const { store } = await newStore();
    const original = newJob();
    await store.register(original);
    const second: Job = { ...original, displayName: 'other', keySecretName: 'other-key' };

    // Act
    const result = await store.register(second);

    // Assess
    expect(result).toStrictEqual({ job: original, created: false });
    expect(await store.get(original.id)).toStrictEqual(original);
    expect(await allHistory(store, original.id)).toHaveLength(1);
  });

  it('get is exactly one point read, also for an unknown id', async () => {
    // Prepare
    const { store, calls } = await newStore();
    const job = newJob();
    await store.register(job);
    calls.length = 0;

    // Act
    const found = await store.get(job.id);
    const callsForFound = calls.splice(0);
    const missing = await store.get(newId());
    const callsForMissing = calls.splice(0);

    // Assess
    expect(found?.id).toBe(job.id);
    expect(callsForFound).toHaveLength(1);
    expect(callsForFound[0]?.method).toBe('GET');
    expect(decodeURIComponent(callsForFound[0]?.url ?? '')).toContain(
      `(PartitionKey='s${job.id[0]}',RowKey='job|${job.id}')`,
    );
    expect(missing).toBeUndefined();
    expect(callsForMissing.map((c) => c.status)).toEqual([404]);
  });

  it('listDue returns only the due jobs, oldest first, and the service returns only their due rows', async () => {
    // Prepare: 1000 jobs (every shard), 10 due at distinct past times, 990 due later; each has job + due + history rows
    const { store, calls } = await newStore();
    const now = new Date('2030-06-01T12:00:00.000Z');
    const jobs: Job[] = [];
    for (let i = 0; i < 1000; i++) {
      const due = i % 100 === 0;
      const at = due
        ? new Date(now.getTime() - (i / 100 + 1) * 60_000).toISOString()
        : new Date(now.getTime() + 1000 + i * 1000).toISOString();
      jobs.push(newJob({ id: newId('0123456789abcdef'[i % 16]), nextCheckAt: at }));
    }
    for (let i = 0; i < jobs.length; i += 25) {
      await Promise.all(jobs.slice(i, i + 25).map((j) => store.register(j)));
    }
    const expected = jobs
      .filter((j) => (j.state.nextCheckAt ?? '') <= now.toISOString())
      .sort((a, b) => (a.state.nextCheckAt ?? '').localeCompare(b.state.nextCheckAt ?? ''));
    calls.length = 0;

    // Act
    const due = await store.listDue(now, { limit: 50 });
    const callsForAll = calls.splice(0);
    const firstThree = await store.listDue(now, { limit: 3 });

    // Assess
    expect(expected).toHaveLength(10);
    expect(due.map((h) => h.job.id)).toEqual(expected.map((j) => j.id));
    expect(due.map((h) => h.job)).toStrictEqual(expected);
    expect(due.every((h) => h.dueKey === `due|${h.job.state.nextCheckAt ?? ''}|${h.job.id}`)).toBe(true);
    // One query over every shard's due range, whatever the number of shards.
    expect(callsForAll).toHaveLength(1);
    expect(callsForAll.every((c) => c.method === 'GET')).toBe(true);
    expect(callsForAll.reduce((n, c) => n + c.entities, 0)).toBe(10);
    expect(firstThree.map((h) => h.job.id)).toEqual(expected.slice(0, 3).map((j) => j.id));
  });

  it('each operation costs a fixed, small number of Table calls', async () => {
    // Prepare
    const { store, calls } = await newStore();
    const job = newJob({ nextCheckAt: '2030-01-01T00:00:00.000Z' });
    const measure = async (run: () => Promise<unknown>): Promise<string[]> => {
      calls.length = 0;
      await run();
      return calls.map((c) => `${c.method} ${c.status}`);
    };

    // Act
    const counts = {
      register: await measure(() => store.register(job)),
      registerAgain: await measure(() => store.register(job)),
      getForPoll: await measure(() => store.getForPoll(job.id)),
      getStatus: await measure(() => store.getStatus(job.id)),
      applyState: await measure(async () => {
        const handle = await store.getForPoll(job.id);
        calls.length = 0;
        const next = runningState('2030-01-01T00:00:05.000Z', '2030-01-01T00:01:05.000Z');
        await store.applyState(handle!, next, {
          status: 'running',
          upstreamStatus: 'running',
          at: next.changedAt,
        });
      }),
      list: await measure(() => store.list({ top: 10 })),
      listHistory: await measure(() => store.listHistory(job.id, { top: 10 })),
      delete: await measure(() => store.delete(job.id)),
    };

    // Assess
    expect(counts).toEqual({
      register: ['POST 202'],
      registerAgain: ['POST 202', 'GET 200'], // a failed batch is HTTP 202 with the 409 inside
      getForPoll: ['GET 200'],
      getStatus: ['GET 200'],
      applyState: ['POST 202'],
      list: ['GET 200'],
      listHistory: ['GET 200'],
      delete: ['GET 200', 'POST 202', 'GET 200', 'POST 202'],
    });
  });

  it('a status read brings the status fields and the row ETag, without the answer as sent or the key name', async () => {
    // Prepare
    const { store, calls } = await newStore();
    const job = newJob();
    job.displayName = 'Group one';
    job.state = {
      ...runningState('2030-01-01T00:00:05.000Z', '2030-01-01T00:01:05.000Z'),
      message: 'Training',
      lastError: { code: 'RateLimited', message: 'Rate limit', at: '2030-01-01T00:00:04.000Z' },
      lastAnswer: {
        httpStatus: 200,
        body: '{"status":"running","secretish":"x"}',
        at: '2030-01-01T00:00:05.000Z',
      },
    };
    await store.register(job);
    const full = await store.getForPoll(job.id);
    calls.length = 0;

    // Act
    const read = await store.getStatus(job.id);
    const missing = await store.getStatus(newId());

    // Assess
    const served: Partial<JobState> = { ...full!.job.state };
    delete served.consecutiveFailures;
    delete served.lastAnswer;
    expect(read).toStrictEqual({
      job: { id: job.id, kind: job.kind, pollIntervalSeconds: 60, state: served },
      etag: full!.etag,
    });
    expect(missing).toBeUndefined();
    const body = calls[0]!.body ?? '';
    expect(body).toContain('"upstream"');
    for (const column of ['answerBody', 'keySecretName', 'identity', 'endpoint', 'dueKey', 'displayName'])
      expect(body).not.toContain(`"${column}"`);
  });

  it('a status read is one GET every time and sees at once a write by another instance', async () => {
    // Prepare
    const { store, calls, other } = await newStore();
    const job = newJob({ nextCheckAt: '2030-01-01T00:00:00.000Z' });
    await store.register(job);
    calls.length = 0;

    // Act
    const first = await store.getStatus(job.id);
    const again = await store.getStatus(job.id);
    const [handle] = await other.listDue(new Date('2030-01-01T00:00:00.000Z'), { limit: 10 });
    const next = runningState('2030-01-01T00:00:05.000Z', '2030-01-01T00:01:05.000Z');
    await other.applyState(handle!, next, {
      status: 'running',
      upstreamStatus: 'running',
      at: next.changedAt,
    });
    const after = await store.getStatus(job.id);
    await other.delete(job.id);
    const gone = await store.getStatus(job.id);

    // Assess
    expect(calls.map((c) => c.method)).toEqual(['GET', 'GET', 'GET', 'GET']);
    expect(again).toStrictEqual(first);
    expect(first!.job.state.status).toBe('pending');
    expect(after!.job.state).toMatchObject({ status: 'running', upstream: { status: 'running' } });
    expect(after!.etag).not.toBe(first!.etag);
    expect(gone).toBeUndefined();
  });

  it('a status read is shared, so it cannot be changed by whoever holds it', async () => {
    // Prepare
    const { store } = await newStore();
    const job = newJob();
    job.state = runningState('2030-01-01T00:00:05.000Z', '2030-01-01T00:01:05.000Z');
    await store.register(job);
    await store.getStatus(job.id);
    const read = await store.getStatus(job.id); // a second read of the unchanged row is kept, and shared

    // Act
    const changeState = (): void => {
      (read!.job.state as { status: string }).status = 'failed';
    };
    const changeUpstream = (): void => {
      (read!.job.state.upstream as Record<string, unknown>)['status'] = 'failed';
    };

    // Assess
    expect(changeState).toThrow(TypeError);
    expect(changeUpstream).toThrow(TypeError);
    expect((await store.getStatus(job.id))!.job.state).toMatchObject({
      status: 'running',
      upstream: { status: 'running' },
    });
  });

  it('applyState moves the due row, replaces the job and appends history in one transaction', async () => {
    // Prepare
    const { store, calls } = await newStore();
    const job = newJob({ nextCheckAt: '2030-01-01T00:00:00.000Z' });
    await store.register(job);
    const [handle] = await store.listDue(new Date('2030-01-01T00:00:00.000Z'), { limit: 10 });
    const next = runningState('2030-01-01T00:00:05.000Z', '2030-01-01T00:01:05.000Z');
    calls.length = 0;

    // Act
    const result = await store.applyState(handle!, next, {
      status: 'running',
      upstreamStatus: 'running',
      at: next.changedAt,
      percentComplete: 10,
    });
    const callsForApply = calls.splice(0);

    // Assess
    expect(result).toStrictEqual({ applied: true, job: { ...job, state: next } });
    expect(callsForApply.map((c) => `${c.method} ${new URL(c.url).pathname.split('/').pop() ?? ''}`)).toEqual(
      ['POST $batch'],
    );
    expect(await store.get(job.id)).toStrictEqual({ ...job, state: next });
    expect(await store.listDue(new Date('2030-01-01T00:01:04.999Z'), { limit: 10 })).toEqual([]);
    const moved = await store.listDue(new Date('2030-01-01T00:01:05.000Z'), { limit: 10 });
    expect(moved.map((h) => [h.job.id, h.dueKey])).toEqual([
      [job.id, `due|2030-01-01T00:01:05.000Z|${job.id}`],
    ]);
    expect(await allHistory(store, job.id)).toEqual([
      'running@2030-01-01T00:00:05.000Z',
      'pending@2030-01-01T00:00:00.000Z',
    ]);
    expect((await store.getForPoll(job.id))?.dueKey).toBe(`due|2030-01-01T00:01:05.000Z|${job.id}`);
  });

  it('applyState keeps the due row in place when the next check time does not change', async () => {
    // Prepare
    const { store } = await newStore();
    const job = newJob({ nextCheckAt: '2030-01-01T00:00:00.000Z' });
    await store.register(job);
    const [handle] = await store.listDue(new Date('2030-01-01T00:00:00.000Z'), { limit: 10 });
    const next: JobState = { ...job.state, consecutiveFailures: 1, checkedAt: '2030-01-01T00:00:01.000Z' };

    // Act
    const result = await store.applyState(handle!, next, undefined);

    // Assess
    expect(result.applied).toBe(true);
    const due = await store.listDue(new Date('2030-01-01T00:00:00.000Z'), { limit: 10 });
    expect(due.map((h) => h.job)).toStrictEqual([{ ...job, state: next }]);
  });

  it('two concurrent applyState calls with the same handle: exactly one applies, the other lost the race', async () => {
    // Prepare
    const { store } = await newStore();
    const job = newJob({ nextCheckAt: '2030-01-01T00:00:00.000Z' });
    await store.register(job);
    const [handle] = await store.listDue(new Date('2030-01-01T00:00:00.000Z'), { limit: 10 });
    const a = runningState('2030-01-01T00:00:05.000Z', '2030-01-01T00:01:05.000Z', 10);
    const b = runningState('2030-01-01T00:00:06.000Z', '2030-01-01T00:01:06.000Z', 20);

    // Act
    const results = await Promise.all([
      store.applyState(handle!, a, { status: 'running', upstreamStatus: 'running', at: a.changedAt }),
      store.applyState(handle!, b, { status: 'running', upstreamStatus: 'running', at: b.changedAt }),
    ]);

    // Assess
    const applied = results.filter((r) => r.applied);
    const lost = results.filter((r) => !r.applied);
    expect(applied).toHaveLength(1);
    expect(lost).toStrictEqual([{ applied: false, reason: 'lostRace' }]);
    const winner = applied[0]?.applied === true ? applied[0].job.state : undefined;
    expect((await store.get(job.id))?.state).toStrictEqual(winner);
    expect(await allHistory(store, job.id)).toHaveLength(2);
    const due = await store.listDue(new Date('2031-01-01T00:00:00.000Z'), { limit: 10 });
    expect(due.map((h) => h.job.state)).toStrictEqual([winner]);
  });

  it('applyState after the job was deleted reports deleted and recreates nothing', async () => {
    // Prepare
    const { store } = await newStore();
    const job = newJob({ nextCheckAt: '2030-01-01T00:00:00.000Z' });
    await store.register(job);
    const [handle] = await store.listDue(new Date('2030-01-01T00:00:00.000Z'), { limit: 10 });
    await store.delete(job.id);
    const next = runningState('2030-01-01T00:00:05.000Z', '2030-01-01T00:01:05.000Z');

    // Act
    const result = await store.applyState(handle!, next, {
      status: 'running',
      upstreamStatus: 'running',
      at: next.changedAt,
    });

    // Assess
    expect(result).toStrictEqual({ applied: false, reason: 'deleted' });
    expect(await store.get(job.id)).toBeUndefined();
    expect(await store.listDue(new Date('2031-01-01T00:00:00.000Z'), { limit: 10 })).toEqual([]);
    expect(await allHistory(store, job.id)).toEqual([]);
  });

  it('applyState on a job without a due row is conditional on its ETag', async () => {
    // Prepare: a terminal job (no due row), read twice; the first writer changes it
    const { store } = await newStore();
    const job = newJob({ nextCheckAt: null, status: 'succeeded' });
    await store.register(job);
    const first = await store.getForPoll(job.id);
    const stale = await store.getForPoll(job.id);
    const firstResult = await store.applyState(
      first!,
      { ...job.state, checkedAt: '2030-01-01T00:05:00.000Z' },
      undefined,
    );

    // Act
    const staleResult = await store.applyState(
      stale!,
      { ...job.state, checkedAt: '2030-01-01T00:06:00.000Z' },
      undefined,
    );

    // Assess
    expect(first?.dueKey).toBeUndefined();
    expect(first?.etag).toEqual(expect.any(String));
    expect(firstResult.applied).toBe(true);
    expect(staleResult).toStrictEqual({ applied: false, reason: 'lostRace' });
    expect((await store.get(job.id))?.state.checkedAt).toBe('2030-01-01T00:05:00.000Z');
  });

  it('a stale ETag also rejects the whole batch that would schedule the job and append history', async () => {
    // Prepare: a terminal job read twice; the first writer reschedules it (refresh), the second is stale
    const { store } = await newStore();
    const job = newJob({ nextCheckAt: null, status: 'succeeded' });
    await store.register(job);
    const first = await store.getForPoll(job.id);
    const stale = await store.getForPoll(job.id);
    const a = runningState('2030-01-01T00:05:00.000Z', '2030-01-01T00:06:00.000Z');
    const b = runningState('2030-01-01T00:05:01.000Z', '2030-01-01T00:06:01.000Z');
    const firstResult = await store.applyState(first!, a, {
      status: 'running',
      upstreamStatus: 'running',
      at: a.changedAt,
    });

    // Act
    const staleResult = await store.applyState(stale!, b, {
      status: 'running',
      upstreamStatus: 'running',
      at: b.changedAt,
    });

    // Assess
    expect(firstResult.applied).toBe(true);
    expect(staleResult).toStrictEqual({ applied: false, reason: 'lostRace' });
    expect((await store.get(job.id))?.state).toStrictEqual(a);
    expect(await allHistory(store, job.id)).toEqual([
      'running@2030-01-01T00:05:00.000Z',
      'succeeded@2030-01-01T00:00:00.000Z',
    ]);
    const due = await store.listDue(new Date('2031-01-01T00:00:00.000Z'), { limit: 10 });
    expect(due.map((h) => h.dueKey)).toEqual([`due|2030-01-01T00:06:00.000Z|${job.id}`]);
  });

  it('list filters by status and kind and pages through every job exactly once', async () => {
    // Prepare: 30 jobs over all shards, 3 statuses x 2 kinds (their due and history rows are in the same table)
    const { store, calls } = await newStore();
    const statuses: JobStatus[] = ['running', 'succeeded', 'failed'];
    const kinds = ['face.personGroup', 'language.textAuthoring'];
    const jobs = Array.from({ length: 30 }, (_, i) =>
      newJob({ id: newId('0123456789abcdef'[i % 16]), status: statuses[i % 3], kind: kinds[i % 2] }),
    );
    await Promise.all(jobs.map((j) => store.register(j)));
    const listAll = async (filter: {
      status?: JobStatus;
      kind?: string;
    }): Promise<{ ids: string[]; pages: number }> => {
      const ids: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await store.list({ ...filter, top: 7, ...(token ? { continuationToken: token } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(7);
        ids.push(...page.items.map((j) => j.id));
        token = page.continuationToken;
        pages++;
      } while (token !== undefined && pages < 100);
      return { ids, pages };
    };
    calls.length = 0;

    // Act
    const all = await listAll({});
    const callsForAll = calls.splice(0);
    const running = await listAll({ status: 'running' });
    const language = await listAll({ kind: 'language.textAuthoring' });
    const failedLanguage = await listAll({ status: 'failed', kind: 'language.textAuthoring' });

    // Assess
    const sorted = (ids: string[]): string[] => [...ids].sort();
    expect(sorted(all.ids)).toEqual(sorted(jobs.map((j) => j.id)));
    expect(all.pages).toBeGreaterThanOrEqual(5);
    expect(callsForAll).toHaveLength(all.pages);
    expect(sorted(running.ids)).toEqual(
      sorted(jobs.filter((j) => j.state.status === 'running').map((j) => j.id)),
    );
    expect(sorted(language.ids)).toEqual(
      sorted(jobs.filter((j) => j.kind === 'language.textAuthoring').map((j) => j.id)),
    );
    expect(sorted(failedLanguage.ids)).toEqual(
      sorted(
        jobs
          .filter((j) => j.kind === 'language.textAuthoring' && j.state.status === 'failed')
          .map((j) => j.id),
      ),
    );
    expect((await store.list({ top: 100 })).items.map((j) => j.id).sort()).toEqual(
      sorted(jobs.map((j) => j.id)),
    );
  });

  it('a forged, garbled or foreign continuation token is rejected', async () => {
    // Prepare
    const { store } = await newStore();
    const job = newJob();
    await store.register(job);
    await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        store.register(newJob({ id: newId(job.id[0]), status: 'running', kind: `k${i}` })),
      ),
    );
    const real = (await store.list({ top: 1 })).continuationToken ?? '';
    const decoded: unknown = JSON.parse(Buffer.from(real, 'base64url').toString('utf8'));
    const forgedInner = Buffer.from(
      JSON.stringify({
        ...(decoded as object),
        t: Buffer.from('{"nextPartitionKey":"s0","evil":"x"}').toString('base64'),
      }),
    ).toString('base64url');
    const sdkOnly = Buffer.from('{"nextPartitionKey":"s0"}').toString('base64');
    const attempts = [
      'not a token!',
      Buffer.from('garbage').toString('base64url'),
      sdkOnly,
      forgedInner,
      real.slice(0, -3),
    ];

    // Act
    const outcomes = await Promise.all(
      attempts.map((continuationToken) =>
        store.list({ top: 1, continuationToken }).then(
          () => 'accepted',
          (e: unknown) => e,
        ),
      ),
    );
    const foreign = await store
      .list({ top: 1, status: 'running', continuationToken: real })
      .catch((e: unknown) => e);
    const historyUse = await store
      .listHistory(job.id, { top: 1, continuationToken: real })
      .catch((e: unknown) => e);
    const genuine = await store.list({ top: 1, continuationToken: real });

    // Assess
    expect(real).not.toBe('');
    for (const outcome of [...outcomes, foreign, historyUse])
      expect(outcome).toBeInstanceOf(InvalidContinuationTokenError);
    expect(genuine.items).toHaveLength(1);
  });

  it('history lists transitions newest first, page by page', async () => {
    // Prepare: pending at registration, then 5 transitions, each through applyState
    const { store } = await newStore();
    const job = newJob({ nextCheckAt: '2030-01-01T00:00:00.000Z' });
    const other = newJob({ id: newId(job.id[0]), nextCheckAt: '2030-01-01T00:00:00.000Z' });
    await store.register(job);
    await store.register(other);
    for (let i = 1; i <= 5; i++) {
      const handle = await store.getForPoll(job.id);
      const at = `2030-01-01T00:0${i}:00.000Z`;
      const result = await store.applyState(handle!, runningState(at, at, i * 10), {
        status: 'running',
        upstreamStatus: 'running',
        at,
        percentComplete: i * 10,
      });
      expect(result.applied).toBe(true);
    }

    // Act
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await store.listHistory(job.id, {
        top: 2,
        ...(token ? { continuationToken: token } : {}),
      });
      pages.push(page.items.map((h) => `${h.status}@${h.at}@${h.percentComplete ?? '-'}`));
      token = page.continuationToken;
    } while (token !== undefined && pages.length < 10);

    // Assess
    expect(pages.flat()).toEqual([
      'running@2030-01-01T00:05:00.000Z@50',
      'running@2030-01-01T00:04:00.000Z@40',
      'running@2030-01-01T00:03:00.000Z@30',
      'running@2030-01-01T00:02:00.000Z@20',
      'running@2030-01-01T00:01:00.000Z@10',
      'pending@2030-01-01T00:00:00.000Z@-',
    ]);
    expect(pages.slice(0, 3).every((p) => p.length === 2)).toBe(true);
  });

  it('delete removes the job, its due row and its history; a second delete returns false', async () => {
    // Prepare
    const { store } = await newStore();
    const job = newJob({ nextCheckAt: '2030-01-01T00:00:00.000Z' });
    const neighbour = newJob({ id: newId(job.id[0]), nextCheckAt: '2030-01-01T00:00:00.000Z' });
    await store.register(job);
    await store.register(neighbour);

    // Act
    const first = await store.delete(job.id);
    const second = await store.delete(job.id);

    // Assess
    expect([first, second]).toEqual([true, false]);
    expect(await store.get(job.id)).toBeUndefined();
    expect(await allHistory(store, job.id)).toEqual([]);
    const due = await store.listDue(new Date('2030-01-01T00:00:00.000Z'), { limit: 10 });
    expect(due.map((h: PollHandle) => h.job.id)).toEqual([neighbour.id]);
    expect(await allHistory(store, neighbour.id)).toHaveLength(1);
  });

  it('resource state saves conditionally: a second insert or a stale etag loses', async () => {
    // Prepare
    const { store } = await newStore();
    const resource = '[::1]:7072';
    const created = await store.saveResourceState({ resource, nextSlotAt: '2030-01-01T00:00:00.000Z' });
    const read = await store.getResourceState(resource);
    const updated = await store.saveResourceState({
      resource,
      nextSlotAt: '2030-01-01T00:00:03.000Z',
      pausedUntil: '2030-01-01T01:00:00.000Z',
      pauseCode: 'QuotaExceeded',
      pauseMessage: 'Out of call volume quota',
      etag: read!.etag!,
    });

    // Act
    const secondInsert = await store.saveResourceState({ resource, nextSlotAt: '2030-01-01T00:00:09.000Z' });
    const staleUpdate = await store.saveResourceState({
      resource,
      nextSlotAt: '2030-01-01T00:00:09.000Z',
      etag: read!.etag!,
    });
    await store.saveResourceState({
      resource: 'other.cognitiveservices.azure.com',
      nextSlotAt: '2030-01-01T00:00:00.000Z',
    });
    const all = await store.listResourceStates();

    // Assess
    expect([created, updated, secondInsert, staleUpdate]).toEqual([true, true, false, false]);
    const { etag, ...current } = all.get(resource) ?? { resource: '' };
    expect(etag).toEqual(expect.any(String));
    expect(etag).not.toBe(read!.etag);
    expect(current).toStrictEqual({
      resource,
      nextSlotAt: '2030-01-01T00:00:03.000Z',
      pausedUntil: '2030-01-01T01:00:00.000Z',
      pauseCode: 'QuotaExceeded',
      pauseMessage: 'Out of call volume quota',
    });
    expect([...all.keys()].sort()).toEqual(['[::1]:7072', 'other.cognitiveservices.azure.com']);
    expect(await store.getResourceState('missing.example')).toBeUndefined();
  });

  it('the cycle summary round-trips and is absent before the first cycle', async () => {
    // Prepare
    const { store } = await newStore();
    const before = await store.getCycleSummary();
    const summary = {
      startedAt: '2030-01-01T00:00:00.000Z',
      finishedAt: '2030-01-01T00:00:02.500Z',
      polled: 12,
      errors: 1,
      upstreamErrors: 4,
    };

    // Act
    await store.saveCycleSummary({ ...summary, polled: 3 });
    await store.saveCycleSummary(summary);
    const after = await store.getCycleSummary();

    // Assess
    expect(before).toBeUndefined();
    expect(after).toStrictEqual(summary);
  });

  it('initialize can run again on existing tables', async () => {
    // Prepare
    const { store } = await newStore();
    await store.register(newJob());

    // Act
    await store.initialize();

    // Assess
    expect((await store.list({ top: 10 })).items).toHaveLength(1);
  });
});

describe('createTableClientFactory', () => {
  it('builds identity-based clients on the table service URI without a key', () => {
    // Prepare
    const credential = {
      getToken: () => Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 60_000 }),
    };

    // Act
    const client = createTableClientFactory({
      tableServiceUri: 'https://acct.table.core.windows.net',
      credential,
    })('jobs');

    // Assess
    expect(client).toBeInstanceOf(TableClient);
    expect(client.url).toBe('https://acct.table.core.windows.net');
    expect(client.tableName).toBe('jobs');
  });
});
