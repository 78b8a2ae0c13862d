import { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import type { Job, JobState } from '../../shared/model';
import { createTableClientFactory } from '../../shared/store/tableJobStore';
import type { PollHandle } from '../../shared/store/types';
import { allHistory, newId, newJob, newStore, runningState } from '../support/tableStore';

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
