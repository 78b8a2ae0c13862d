/**
 * Helpers shared by the security suite: the registration context of the real app, a recording stand-in for the
 * job store, and direct reads of every Table entity (to prove what was, or was not, stored).
 */
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { ApiError } from '../../shared/api/errors';
import type { RegistrationContext } from '../../shared/api/registration';
import type { Job } from '../../shared/model';
import type { JobStore } from '../../shared/store/types';
import { getAdapter, listKinds } from '../../shared/upstream/registry';

/** The loopback origin the in-process checks allow, as ALLOWED_UPSTREAM_HOSTS would. */
export const LOCAL_ORIGIN = 'http://127.0.0.1:7072';

export const registrationContext: RegistrationContext = {
  getAdapter,
  listKinds,
  allowedUpstreamOrigins: [LOCAL_ORIGIN],
};

/** A valid body of each kind, on the loopback origin. */
export const VALID_BODIES = {
  face: {
    kind: 'face.personGroup',
    endpoint: LOCAL_ORIGIN,
    keySecretName: 'face-key',
    personGroupId: 'group-1',
  },
  language: {
    kind: 'language.textAuthoring',
    endpoint: LOCAL_ORIGIN,
    keySecretName: 'language-key',
    projectName: 'Loans',
    jobId: 'job-1',
  },
} as const;

/** The error an API call threw, or a failure when it did not throw an ApiError. */
export function apiErrorOf(action: () => unknown): ApiError {
  try {
    action();
  } catch (error: unknown) {
    if (error instanceof ApiError) return error;
    throw new Error(`expected an ApiError, got ${String(error)}`);
  }
  throw new Error('expected an ApiError, but the call succeeded');
}

export async function apiErrorOfAsync(action: () => Promise<unknown>): Promise<ApiError> {
  try {
    await action();
  } catch (error: unknown) {
    if (error instanceof ApiError) return error;
    throw new Error(`expected an ApiError, got ${String(error)}`);
  }
  throw new Error('expected an ApiError, but the call succeeded');
}

/** A JobStore whose every method records its call; `register` stores in memory. Nothing else is implemented. */
export function recordingStore(): { store: JobStore; calls: string[]; registered: Job[] } {
  const calls: string[] = [];
  const registered: Job[] = [];
  const store = new Proxy({} as JobStore, {
    get(_target, property) {
      const name = String(property);
      if (name === 'then') return undefined;
      return (...args: unknown[]) => {
        calls.push(name);
        if (name === 'register') {
          registered.push(args[0] as Job);
          return Promise.resolve({ job: args[0], created: true });
        }
        return Promise.reject(new Error(`recordingStore.${name} is not implemented`));
      };
    },
  });
  return { store, calls, registered };
}

/** Every entity of every table of the storage account, as JSON text (one line per entity). */
export async function readAllEntities(
  connectionString: string,
): Promise<Array<{ table: string; entity: Record<string, unknown>; text: string }>> {
  const options = { allowInsecureConnection: true };
  const service = TableServiceClient.fromConnectionString(connectionString, options);
  const out: Array<{ table: string; entity: Record<string, unknown>; text: string }> = [];
  for await (const table of service.listTables()) {
    if (!table.name) continue;
    const client = TableClient.fromConnectionString(connectionString, table.name, options);
    for await (const entity of client.listEntities<Record<string, unknown>>()) {
      out.push({ table: table.name, entity, text: JSON.stringify(entity) });
    }
  }
  return out;
}

/** Job rows (`job|{id}`) among the entities. */
export function jobRows(entities: Array<{ entity: Record<string, unknown> }>): Record<string, unknown>[] {
  return entities
    .map((e) => e.entity)
    .filter((e) => typeof e.rowKey === 'string' && e.rowKey.startsWith('job|'));
}

/** Table requests that change data (anything but a read). */
export function writesOf(requests: ReadonlyArray<{ method: string; path: string }>): string[] {
  return requests
    .filter((r) => r.method !== 'GET' && r.method !== 'HEAD')
    .map((r) => `${r.method} ${r.path}`);
}
