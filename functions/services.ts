/*
 * The per-process cache of the services. Cold start: importing the app (functions/index.ts) loads only what
 * registering the functions and checking the settings need. The composition root (./buildServices) and with it
 * the Azure SDKs (@azure/data-tables, @azure/identity, @azure/keyvault-secrets, @azure/storage-queue: most of the import time) load on
 * first use, and are then shared by every invocation of the process.
 */
import { loadConfig, type Config } from '../shared/config';
import type { Services } from './buildServices';

export type { Services } from './buildServices';

let config: Config | undefined;
let services: Promise<Services> | undefined;

/** Settings are parsed once; invalid settings stop the app at start with every problem listed. */
export function getConfig(): Config {
  config ??= loadConfig(process.env);
  return config;
}

/** Built lazily on first use and shared by every invocation of this process. */
export function getServices(): Promise<Services> {
  services ??= loadAndBuild(getConfig()).catch((error: unknown) => {
    services = undefined; // let the next invocation try again (e.g. storage was briefly unreachable)
    throw error;
  });
  return services;
}

/** A relative CommonJS module, so the SDKs it requires load once, as CommonJS (not a second ESM copy). */
async function loadAndBuild(config: Config): Promise<Services> {
  const { buildServices, credentialFor } = await import('./buildServices.js');
  // Metric export only with a connection string, and the exporter (heavy) loaded only then.
  const metrics = config.telemetry
    ? (await import('../shared/telemetry/azureMonitor.js')).startAzureMonitorExport(config.telemetry, () =>
        credentialFor(config),
      )
    : undefined;
  const built = buildServices(config, metrics ? { metrics } : {});
  await built.store.initialize();
  await Promise.all([built.subscriptionStore.initialize?.(), built.deliveryLog.initialize?.()]);
  // The polls queue is created now if missing, without waiting: an unreachable queue must neither stop nor slow
  // the app (the first send waits for this creation, or tries again).
  void built.pollQueue.initialize?.().catch(() => undefined);
  return built;
}
