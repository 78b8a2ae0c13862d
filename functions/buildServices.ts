/*
 * The composition root: the one place where the app's parts are wired together. A pure function of the settings
 * and of what a caller replaces (tests and benchmarks: a clock, a random source, a fetch, a key provider, a table
 * client factory, ...), with no I/O: the per-process cache in functions/services.ts builds through it and creates
 * the tables, and so do the test harnesses and the benchmarks.
 *
 * To add a dependency: an optional field in `ServiceOverrides`, its default built here from `config`, and a field
 * in `Services` when the functions need it.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { JobsApi } from '../shared/api/jobsApi';
import { systemClock, type Clock, type RandomSource } from '../shared/clock';
import type { Config } from '../shared/config';
import { silentLogger, type Logger } from '../shared/logger';
import { Poller, type FetchUpstream, type KeyProvider } from '../shared/poller/poller';
import { createSecretClient, KeyClient } from '../shared/secrets';
import {
  createTableClientFactory,
  TableJobStore,
  type TableClientFactory,
} from '../shared/store/tableJobStore';
import type { JobStore } from '../shared/store/types';
import { fetchUpstream } from '../shared/upstream/http';
import { getAdapter, listKinds } from '../shared/upstream/registry';

/** Everything the functions need, built once per process from the settings. */
export interface Services {
  config: Config;
  store: JobStore;
  keys: KeyProvider;
  poller: Poller;
  api: JobsApi;
}

/** What a caller may replace; everything left out is built from the settings. */
export interface ServiceOverrides {
  /** Table clients for the store (e.g. in-memory tables, or clients with extra pipeline policies). */
  tableClient?: TableClientFactory;
  /** The whole store (e.g. one wrapped to be tracked on a virtual clock); wins over `tableClient`. */
  store?: JobStore;
  /** Subscription keys instead of the Key Vault the settings name. */
  keys?: KeyProvider;
  fetchUpstream?: FetchUpstream;
  clock?: Clock;
  random?: RandomSource;
  /** The poller's logger outside an invocation (invocations log through their context). */
  logger?: Logger;
}

/** Builds the services from the settings; no I/O (the store's tables are created by `store.initialize()`). */
export function buildServices(config: Config, overrides: ServiceOverrides = {}): Services {
  const clock = overrides.clock ?? systemClock;
  const store =
    overrides.store ??
    new TableJobStore({ tableClient: overrides.tableClient ?? tableClientFactoryFor(config) });
  const keys = overrides.keys ?? keyClientFor(config, clock);
  const poller = new Poller({
    store,
    keys,
    getAdapter,
    fetchUpstream: overrides.fetchUpstream ?? fetchUpstream,
    clock,
    random: overrides.random ?? Math.random,
    logger: overrides.logger ?? silentLogger,
    settings: config,
  });
  const api = new JobsApi({
    store,
    poller,
    clock,
    getAdapter,
    listKinds,
    allowedUpstreamOrigins: config.allowedUpstreamOrigins,
  });
  return { config, store, keys, poller, api };
}

function tableClientFactoryFor(config: Config): TableClientFactory {
  const storage = config.storage;
  if (storage.kind === 'connectionString')
    return createTableClientFactory({ connectionString: storage.connectionString });
  return createTableClientFactory({
    tableServiceUri: storage.tableServiceUri,
    credential: storage.clientId
      ? new ManagedIdentityCredential({ clientId: storage.clientId })
      : credentialFor(config),
  });
}

function keyClientFor(config: Config, clock: Clock): KeyClient {
  const { available, clientId } = config.managedIdentity;
  const secrets = createSecretClient({
    vaultUrl: config.keyVaultUrl,
    useManagedIdentity: available,
    ...(clientId ? { managedIdentityClientId: clientId } : {}),
  });
  return new KeyClient(secrets, { ttlMs: config.secretCacheTtlMs, clock });
}

function credentialFor(config: Config): TokenCredential {
  const { available, clientId } = config.managedIdentity;
  if (available) return new ManagedIdentityCredential(clientId ? { clientId } : {});
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}
