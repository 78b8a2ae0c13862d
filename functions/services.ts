import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { JobsApi } from '../shared/api/jobsApi';
import { systemClock } from '../shared/clock';
import { loadConfig, type Config } from '../shared/config';
import { silentLogger } from '../shared/logger';
import { Poller } from '../shared/poller/poller';
import { createSecretClient, KeyClient } from '../shared/secrets';
import { createTableClientFactory, TableJobStore } from '../shared/store/tableJobStore';
import { fetchUpstream } from '../shared/upstream/http';
import { getAdapter, listKinds } from '../shared/upstream/registry';

/** Everything the functions need, built once per process from the settings. */
export interface Services {
  config: Config;
  store: TableJobStore;
  poller: Poller;
  api: JobsApi;
}

let config: Config | undefined;
let services: Promise<Services> | undefined;

/** Settings are parsed once; invalid settings stop the app at start with every problem listed. */
export function getConfig(): Config {
  config ??= loadConfig(process.env);
  return config;
}

/** Built lazily on first use and shared by every invocation of this process. */
export function getServices(): Promise<Services> {
  services ??= buildServices(getConfig()).catch((error: unknown) => {
    services = undefined; // let the next invocation try again (e.g. storage was briefly unreachable)
    throw error;
  });
  return services;
}

async function buildServices(config: Config): Promise<Services> {
  const credential = (): TokenCredential =>
    config.managedIdentity.available
      ? new ManagedIdentityCredential(
          config.managedIdentity.clientId ? { clientId: config.managedIdentity.clientId } : {},
        )
      : new DefaultAzureCredential(
          config.managedIdentity.clientId ? { managedIdentityClientId: config.managedIdentity.clientId } : {},
        );
  const store = new TableJobStore({
    tableClient: createTableClientFactory(
      config.storage.kind === 'connectionString'
        ? { connectionString: config.storage.connectionString }
        : {
            tableServiceUri: config.storage.tableServiceUri,
            credential: config.storage.clientId
              ? new ManagedIdentityCredential({ clientId: config.storage.clientId })
              : credential(),
          },
    ),
  });
  await store.initialize();
  const keys = new KeyClient(
    createSecretClient({
      vaultUrl: config.keyVaultUrl,
      useManagedIdentity: config.managedIdentity.available,
      ...(config.managedIdentity.clientId
        ? { managedIdentityClientId: config.managedIdentity.clientId }
        : {}),
    }),
    { ttlMs: config.secretCacheTtlMs, clock: systemClock },
  );
  const poller = new Poller({
    store,
    keys,
    getAdapter,
    fetchUpstream,
    clock: systemClock,
    random: Math.random,
    logger: silentLogger,
    settings: config,
  });
  const api = new JobsApi({
    store,
    poller,
    clock: systemClock,
    getAdapter,
    listKinds,
    allowedUpstreamOrigins: config.allowedUpstreamOrigins,
  });
  return { config, store, poller, api };
}
