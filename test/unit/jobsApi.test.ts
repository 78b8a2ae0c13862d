import type { HttpResponseInit } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../shared/api/errors';
import type { JobsApi } from '../../shared/api/jobsApi';
import type { JobStore } from '../../shared/store/types';
import { buildServices } from '../../functions/buildServices';
import { faceTraining, ORIGIN, unitServices } from '../support/unitServices';

const BASE = 'http://localhost:7071';
const JSON_TYPE = 'application/json';

function body(personGroupId = 'group-1'): string {
  return JSON.stringify({
    kind: 'face.personGroup',
    endpoint: ORIGIN,
    keySecretName: 'face-key',
    personGroupId,
  });
}

function query(values: Record<string, string> = {}): URLSearchParams {
  return new URLSearchParams(values);
}

async function registered(api: JobsApi, personGroupId = 'group-1'): Promise<string> {
  const response = await api.register(body(personGroupId), JSON_TYPE, BASE);
  return (response.jsonBody as { id: string }).id;
}

/** The status object of a 200 answer, which carries it serialized. */
function statusOf(response: HttpResponseInit): Record<string, unknown> {
  expect(response.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8' });
  expect(typeof response.body).toBe('string');
  return JSON.parse(response.body as string) as Record<string, unknown>;
}

async function apiErrorOf(action: Promise<unknown>): Promise<ApiError> {
  const error: unknown = await action.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

describe('registering a job', () => {
  it('answers 201 with its location, then 200 with the same job when registered again', async () => {
    // Prepare
    const { services } = unitServices();

    // Act
    const first = await services.api.register(body(), JSON_TYPE, BASE);
    const again = await services.api.register(body(), JSON_TYPE, BASE);

    // Assess
    const id = (first.jsonBody as { id: string }).id;
    expect(first.status).toBe(201);
    expect((first.headers as Record<string, string>).location).toBe(`${BASE}/api/jobs/${id}`);
    expect(again.status).toBe(200);
    expect((again.jsonBody as { id: string }).id).toBe(id);
    expect(first.jsonBody).toMatchObject({ status: { status: 'pending' } });
  });

  it('refuses a body with no kind with InvalidArgument and stores nothing', async () => {
    // Prepare
    const { services } = unitServices();

    // Act
    const error = await apiErrorOf(
      services.api.register(JSON.stringify({ endpoint: ORIGIN }), JSON_TYPE, BASE),
    );
    const listed = await services.api.list(query(), BASE);

    // Assess
    expect(error).toMatchObject({ status: 400, code: 'InvalidArgument' });
    expect((listed.jsonBody as { value: unknown[] }).value).toEqual([]);
  });
});

describe('reading the cached status', () => {
  it('answers 200 with an ETag, then 304 with no body for a matching If-None-Match', async () => {
    // Prepare
    const { services } = unitServices();
    const id = await registered(services.api);

    // Act
    const first = await services.api.getStatus(id, null);
    const etag = (first.headers as Record<string, string>).etag!;
    const second = await services.api.getStatus(id, etag);

    // Assess
    expect(first.status).toBe(200);
    expect(statusOf(first)).toMatchObject({ id, status: 'pending' });
    expect(second.status).toBe(304);
    expect(second.body).toBeUndefined();
    expect(second.jsonBody).toBeUndefined();
  });

  it('changes the ETag once a poll has changed the status', async () => {
    // Prepare
    const { services } = unitServices();
    const id = await registered(services.api);
    const before = (await services.api.getStatus(id, null)).headers as Record<string, string>;

    // Act
    await services.poller.runCycle();
    const after = await services.api.getStatus(id, before.etag!);

    // Assess
    expect(after.status).toBe(200);
    expect(statusOf(after)).toMatchObject({ id, status: 'running', upstreamStatus: 'running' });
  });

  it("carries the upstream's own time of the status as upstreamUpdatedAt", async () => {
    // Prepare
    const { services } = unitServices();
    const id = await registered(services.api);
    await services.poller.runCycle();

    // Act
    const response = await services.api.getStatus(id, null);

    // Assess
    const status = statusOf(response) as {
      upstreamUpdatedAt?: string;
      upstream: { lastActionDateTime: string };
    };
    expect(status.upstreamUpdatedAt).toBe(new Date(status.upstream.lastActionDateTime).toISOString());
  });

  it('answers 404 for an id that is not a job id, and for one that does not exist', async () => {
    // Prepare
    const { services } = unitServices();

    // Act
    const malformed = await apiErrorOf(services.api.getStatus('not-an-id', null));
    const absent = await apiErrorOf(services.api.getStatus('0'.repeat(32), null));

    // Assess
    expect(malformed).toMatchObject({ status: 404, code: 'NotFound', target: 'id' });
    expect(absent).toMatchObject({ status: 404, code: 'NotFound', target: 'id' });
  });
});

describe('listing jobs', () => {
  it('pages with nextLink and filters by status', async () => {
    // Prepare
    const { services } = unitServices();
    for (let i = 0; i < 3; i++) await registered(services.api, `group-${i}`);

    // Act
    const page = await services.api.list(query({ top: '2' }), BASE);
    const nextLink = (page.jsonBody as { nextLink?: string }).nextLink!;
    const rest = await services.api.list(new URL(nextLink).searchParams, BASE);
    const running = await services.api.list(query({ status: 'running' }), BASE);

    // Assess
    expect((page.jsonBody as { value: unknown[] }).value).toHaveLength(2);
    expect(nextLink.startsWith(`${BASE}/api/jobs?`)).toBe(true);
    expect((rest.jsonBody as { value: unknown[] }).value).toHaveLength(1);
    expect((running.jsonBody as { value: unknown[] }).value).toEqual([]);
  });

  it.each([
    [{ status: 'done' }, 'status'],
    [{ kind: 'face.other' }, 'kind'],
    [{ top: '0' }, 'top'],
    [{ top: '101' }, 'top'],
  ])('refuses %o with InvalidArgument on %s', async (values, target) => {
    // Prepare
    const { services } = unitServices();

    // Act
    const error = await apiErrorOf(services.api.list(query(values), BASE));

    // Assess
    expect(error).toMatchObject({ status: 400, code: 'InvalidArgument', target });
  });
});

describe('deleting a job', () => {
  it('answers 204, after which the job is gone (and 204 again)', async () => {
    // Prepare
    const { services } = unitServices();
    const id = await registered(services.api);

    // Act
    const deleted = await services.api.delete(id);
    const again = await services.api.delete(id);
    const error = await apiErrorOf(services.api.get(id));

    // Assess
    expect(deleted.status).toBe(204);
    expect(again.status).toBe(204);
    expect(error).toMatchObject({ status: 404 });
  });
});

describe('refreshing a job', () => {
  it('polls the upstream now and answers the new status', async () => {
    // Prepare
    const unit = unitServices();
    const id = await registered(unit.services.api);
    unit.answer = () => faceTraining('succeeded');

    // Act
    const response = await unit.services.api.refresh(id);

    // Assess
    expect(unit.calls).toHaveLength(1);
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ id, status: 'succeeded' });
  });
});

describe('health', () => {
  it('is starting before the first cycle, healthy after a cycle without errors', async () => {
    // Prepare
    const { services } = unitServices();
    await registered(services.api);

    // Act
    const before = await services.api.health();
    await services.poller.runCycle();
    const after = await services.api.health();

    // Assess
    expect(before.jsonBody).toMatchObject({ status: 'starting', lastCycle: null });
    expect(after.status).toBe(200);
    expect(after.jsonBody).toMatchObject({ status: 'healthy', lastCycle: { polled: 1, errors: 0 } });
  });

  it('answers 503 unhealthy when the store cannot be read', async () => {
    // Prepare
    const { services } = unitServices();
    const failing: JobStore = {
      ...services.store,
      getCycleSummary: () => Promise.reject(new Error('storage down')),
    };
    const { api } = buildServices(services.config, { store: failing, keys: services.keys });

    // Act
    const response = await api.health();

    // Assess
    expect(response.status).toBe(503);
    expect(response.jsonBody).toEqual({ status: 'unhealthy', lastCycle: null });
  });
});
