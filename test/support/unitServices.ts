/**
 * The app's services for unit tests, built by the composition root over in-memory fakes: the real store over
 * in-memory tables (dev/memoryTables.ts), a fixed key, a scripted upstream, and a virtual clock. No Azurite, no
 * network, no build.
 */
import { buildServices, type NotificationOverrides, type Services } from '../../functions/buildServices';
import { MemoryPollQueue } from '../../dev/memoryPollQueue';
import { memoryTables, type MemoryTables } from '../../dev/memoryTables';
import { trackAll, VirtualClock } from '../../dev/virtualClock';
import { loadConfig } from '../../shared/config';
import type { FetchUpstream, KeyProvider } from '../../shared/poller/poller';
import { TableJobStore } from '../../shared/store/tableJobStore';
import type { JobStore } from '../../shared/store/types';
import type { UpstreamResponse } from '../../shared/upstream/types';

/** The loopback origin the fake upstream answers for (allowed as ALLOWED_UPSTREAM_HOSTS would). */
export const ORIGIN = 'http://127.0.0.1:7072';
export const KEY = 'unit-test-key';
export const T0 = Date.parse('2026-01-05T09:00:00.000Z');

/** A Face training status as the service sends it (Face v1.0, Get Training Status). */
export function faceTraining(status: string, at = new Date(T0)): UpstreamResponse {
  return {
    status: 200,
    headers: new Headers({ 'content-type': 'application/json; charset=utf-8' }),
    bodyText: JSON.stringify({
      status,
      createdDateTime: new Date(at.getTime() - 60_000).toISOString(),
      lastActionDateTime: at.toISOString(),
      message: null,
    }),
  };
}

export interface UnitServices {
  services: Services;
  clock: VirtualClock;
  /** Every upstream call: url and virtual time (ms). */
  calls: { url: string; at: number }[];
  /** What the upstream answers next (default: Face `running`). */
  answer: (url: string) => UpstreamResponse | Promise<UpstreamResponse>;
}

export function unitServices(
  options: {
    settings?: Record<string, string>;
    keys?: KeyProvider;
    /** Tables and clock shared with another unitServices: two processes of one app. */
    tables?: MemoryTables;
    clock?: VirtualClock;
    /** Wraps the store (e.g. to count its reads). */
    wrapStore?: (store: JobStore) => JobStore;
    /** Notification parts (test/support/notificationHarness.ts). */
    notifications?: NotificationOverrides;
  } = {},
): UnitServices {
  const clock = options.clock ?? new VirtualClock(T0);
  const calls: UnitServices['calls'] = [];
  const unit = { clock, calls, answer: () => faceTraining('running') } as Omit<UnitServices, 'services'>;
  const fetchUpstream: FetchUpstream = (url) => {
    calls.push({ url, at: clock.nowMs() });
    return clock.track(Promise.resolve(unit.answer(url)));
  };
  const config = loadConfig({
    AzureWebJobsStorage: 'UseDevelopmentStorage=true', // not contacted: the tables are in memory
    KEY_VAULT_URL: 'https://unit-unused.vault.azure.net',
    ALLOWED_UPSTREAM_HOSTS: ORIGIN,
    UPSTREAM_RATE_LIMITS: `${new URL(ORIGIN).host}=600/min`,
    ...options.settings,
  });
  const tables = options.tables ?? memoryTables();
  const tracked = trackAll(new TableJobStore({ tableClient: tables.factory }), clock);
  const store = options.wrapStore ? options.wrapStore(tracked) : tracked;
  const services = buildServices(config, {
    store,
    keys: options.keys ?? { getKey: () => Promise.resolve(KEY) },
    fetchUpstream,
    clock,
    random: () => 0.5,
    pollQueue: new MemoryPollQueue(clock),
    tableClient: tables.factory,
    ...(options.notifications ? { notifications: options.notifications } : {}),
  });
  return Object.assign(unit, { services });
}
