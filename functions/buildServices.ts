import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { JobsApi } from '../shared/api/jobsApi';
import { systemClock } from '../shared/clock';
import type { Config } from '../shared/config';
import { silentLogger } from '../shared/logger';
import { Poller } from '../shared/poller/poller';
import { createSecretClient, KeyClient } from '../shared/secrets';
import {
  createTableClientFactory,
  TableJobStore,
  type TableClientFactory,
} from '../shared/store/tableJobStore';
import { fetchUpstream } from '../shared/upstream/http';
import { getAdapter, listKinds } from '../shared/upstream/registry';
import type { Services } from './services';

/**
 * The wiring: store, secrets, poller and API from the settings. Loaded on first use by `getServices`
 * (functions/services.ts), so importing the app does not load the Azure SDKs.
 */
export async function buildServices(
  config: Config,
  /** For benchmarks and tests: a table client factory instead of the one the settings describe. */
  overrides: { tableClient?: TableClientFactory } = {},
): Promise<Services> {
  const credential = (): TokenCredential =>
    config.managedIdentity.available
      ? new ManagedIdentityCredential(
          config.managedIdentity.clientId ? { clientId: config.managedIdentity.clientId } : {},
        )
      : new DefaultAzureCredential(
          config.managedIdentity.clientId ? { managedIdentityClientId: config.managedIdentity.clientId } : {},
        );
  const store = new TableJobStore({
    tableClient:
      overrides.tableClient ??
      createTableClientFactory(
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
