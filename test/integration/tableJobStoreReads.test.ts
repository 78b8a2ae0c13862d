import { describe, expect, it } from 'vitest';
import type { JobState, JobStatus } from '../../shared/model';
import { InvalidContinuationTokenError } from '../../shared/store/tableJobStore';
import { newId, newJob, newStore, runningState } from '../support/tableStore';

describe('TableJobStore reads against Azurite', () => {
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
});
