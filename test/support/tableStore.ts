/* Shared by the TableJobStore tests against Azurite: a store on fresh tables with its calls recorded, and jobs. */
import { randomBytes } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { inject } from 'vitest';
import type { Job, JobState, JobStatus } from '../../shared/model';
import { createTableClientFactory, TableJobStore } from '../../shared/store/tableJobStore';

const connectionString = inject('azuriteConnectionString');

type Policy = Parameters<TableClient['pipeline']['addPolicy']>[0];

export interface RecordedCall {
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
export async function newStore(): Promise<{
  store: TableJobStore;
  calls: RecordedCall[];
  other: TableJobStore;
}> {
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

export function newId(firstHex?: string): string {
  const id = randomBytes(16).toString('hex');
  return firstHex === undefined ? id : firstHex + id.slice(1);
}

export function pendingState(nextCheckAt: string | null, changedAt = '2030-01-01T00:00:00.000Z'): JobState {
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

export function newJob(
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

export function runningState(at: string, nextCheckAt: string | null, percentComplete = 10): JobState {
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

export async function allHistory(store: TableJobStore, id: string): Promise<string[]> {
  const page = await store.listHistory(id, { top: 100 });
  return page.items.map((h) => `${h.status}@${h.at}`);
}
