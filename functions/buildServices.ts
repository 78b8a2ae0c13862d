/*
 * The composition root: the one place where the app's parts are wired together. A pure function of the settings
 * and of what a caller replaces (tests and benchmarks: a clock, a random source, a fetch, a key provider, a table
 * client factory, ...), with no I/O: the per-process cache in functions/services.ts builds through it and creates
 * the tables, and so do the test harnesses and the benchmarks.
 *
 * To add a dependency: an optional field in `ServiceOverrides`, its default built here from `config`, and a field
 * in `Services` when the functions need it.
 */
import { EventListeners } from '../shared/notifications/listeners';
import type { QueueClient } from '@azure/storage-queue';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { JobsApi, readStatusSnapshot } from '../shared/api/jobsApi';
import { StatusWaits } from '../shared/api/statusWaits';
import { SubscriptionsApi } from '../shared/api/subscriptionsApi';
import { ResourceDirectory } from '../shared/dropIn/directory';
import { DropInApi } from '../shared/dropIn/dropInApi';
import { AttemptLimiter } from '../shared/dropIn/keyGuard';
import { systemClock, type Clock, type RandomSource } from '../shared/clock';
import type { Config } from '../shared/config';
import { silentLogger, type Logger } from '../shared/logger';
import { DerivedSigningSecrets } from '../shared/notifications/signingSecrets';
import type {
  DeliveryLog,
  InitializableStore,
  SigningSecrets,
  SubscriptionStore,
} from '../shared/notifications/types';
import { Poller, type FetchUpstream, type KeyProvider } from '../shared/poller/poller';
import { NotificationService, type NotificationDeps } from '../shared/notifications/delivery';
import { EventGridPublisher } from '../shared/notifications/eventGrid';
import { LANES_TABLE, TableLaneStore } from '../shared/notifications/lanes';
import { NOTIFICATION_QUEUE_NAME, type NotificationQueue } from '../shared/notifications/messages';
import { StorageNotificationQueue } from '../shared/notifications/storageNotificationQueue';
import { createWebhookSender, type SendWebhook } from '../shared/notifications/webhookSender';
import { createPollQueueClient, StoragePollQueue } from '../shared/queue/storagePollQueue';
import type { PollQueue } from '../shared/queue/types';
import { KeyClient } from '../shared/secrets';
import { createSecretClient } from '../shared/vaultClient';
import {
  createTableClientFactory,
  TableJobStore,
  type TableClientFactory,
} from '../shared/store/tableJobStore';
import { TableOutbox } from '../shared/store/outbox';
import { TableDeliveryLog } from '../shared/store/tableDeliveryLog';
import { TableSubscriptionStore } from '../shared/store/tableSubscriptionStore';
import type { JobStore, StatusRead } from '../shared/store/types';
import { LocalStatusNotifier } from '../shared/statusNotifier';
import { createTelemetry } from '../shared/telemetry';
import type { MetricExport } from '../shared/telemetry/azureMonitor';
import { fetchUpstream } from '../shared/upstream/http';
import { resourceOf } from '../shared/upstream/allowList';
import { getAdapter, listAdapters, listKinds } from '../shared/upstream/registry';

/** Per attempt (docs/spec.md §12). */
const WEBHOOK_TIMEOUT_MS = 10_000;

/** Everything the functions need, built once per process from the settings. */
export interface Services {
  config: Config;
  store: JobStore;
  keys: KeyProvider;
  poller: Poller;
  api: JobsApi;
  /** The `polls` queue the cycle hands polls to (docs/spec.md §5); `initialize` creates it if missing. */
  pollQueue: PollQueue & { initialize?(): Promise<void> };
  /**
   * Exports the metrics recorded so far, when export is on (after each timer run and each queued poll, so that an
   * instance scaled in afterwards loses nothing). Never throws: a failed export is logged.
   */
  flushMetrics: (logger: Logger) => Promise<void>;
  /** The long-poll waiters of this process, woken by the poller through an in-process notifier. */
  statusWaits: StatusWaits<StatusRead>;
  /** Events from transitions, webhook deliveries, Event Grid (docs/spec.md §12); the `notify` function's service. */
  notifications: NotificationService;
  /** The `notifications` queue; `initialize` creates it if missing. */
  notificationQueue: NotificationQueue & { initialize?(): Promise<void> };
  /** Webhook subscriptions (docs/spec.md §12): the store, the delivery log, the derived signing secrets, the routes. */
  subscriptionStore: SubscriptionStore & Partial<InitializableStore>;
  deliveryLog: DeliveryLog & Partial<InitializableStore>;
  signingSecrets: SigningSecrets;
  subscriptions: SubscriptionsApi;
  /** Drop-in upstream-shaped reads (docs/spec.md §13). */
  dropIn: DropInApi;
}

/** The parts of notifications a caller may replace (tests: in-memory subscriptions, a virtual-clock queue...). */
export type NotificationOverrides = Partial<
  Pick<
    NotificationDeps,
    'subscriptions' | 'secrets' | 'deliveryLog' | 'queue' | 'send' | 'eventGrid' | 'lanes' | 'outbox'
  >
>;

/** What a caller may replace; everything left out is built from the settings. */
export interface ServiceOverrides {
  /** Table clients for the store (e.g. in-memory tables, or clients with extra pipeline policies). */
  tableClient?: TableClientFactory;
  /** The whole store (e.g. one wrapped to be tracked on a virtual clock); wins over `tableClient`. */
  store?: JobStore;
  /** Subscription keys (and the webhook signing root secret) instead of the Key Vault the settings name. */
  keys?: KeyProvider;
  /** The polls queue instead of the Storage queue the settings name. */
  pollQueue?: PollQueue;
  /** `false`: the cycle hands nothing to the polls queue (it reserves no slot after its call window). */
  handOff?: boolean;
  fetchUpstream?: FetchUpstream;
  clock?: Clock;
  random?: RandomSource;
  /** The poller's logger outside an invocation (invocations log through their context). */
  logger?: Logger;
  /**
   * Where the metrics go (functions/services.ts: the Azure Monitor export when a connection string is set; tests:
   * an in-memory reader). None: the global meter provider's meter, a no-op unless one is registered.
   */
  metrics?: Pick<MetricExport, 'meter' | 'flush'>;
  /** Notification parts (docs/spec.md §12); the rest is built from the settings. */
  notifications?: NotificationOverrides;
}

/** Builds the services from the settings; no I/O (the store's tables are created by `store.initialize()`). */
export function buildServices(config: Config, overrides: ServiceOverrides = {}): Services {
  const clock = overrides.clock ?? systemClock;
  const tables = overrides.tableClient ?? tableClientFactoryFor(config);
  const store = overrides.store ?? new TableJobStore({ tableClient: tables });
  const keys = overrides.keys ?? keyClientFor(config, clock);
  const pollQueue = overrides.pollQueue ?? pollQueueFor(config, clock);
  const telemetry = createTelemetry(overrides.metrics?.meter);
  const notifier = new LocalStatusNotifier();
  const subscriptionStore =
    overrides.notifications?.subscriptions ?? new TableSubscriptionStore({ tableClient: tables });
  const deliveryLog =
    overrides.notifications?.deliveryLog ?? new TableDeliveryLog({ tableClient: tables, clock });
  const signingSecrets =
    overrides.notifications?.secrets ??
    new DerivedSigningSecrets({
      keys,
      secretName: config.notifications.signingSecretName,
    });
  // The notifications queue lives beside the polls queue: a caller that replaces the polls queue (tests,
  // benchmarks) passes its own notifications queue too, or has none (transitions then wait in the outbox).
  const notificationQueue: NotificationQueue | undefined =
    overrides.notifications?.queue ??
    (overrides.pollQueue
      ? undefined
      : new StorageNotificationQueue(queueClientFor(config, NOTIFICATION_QUEUE_NAME)));
  const eventGrid = eventGridFor(config, overrides.notifications);
  // Events are stored and sent only when something listens (a subscription, Event Grid; docs/spec.md §12).
  const listeners = new EventListeners({
    subscriptions: subscriptionStore,
    eventGrid: eventGrid.eventGrid !== undefined,
    clock,
  });
  const notifications = new NotificationService({
    outbox: overrides.notifications?.outbox ?? new TableOutbox(tables('jobs')),
    lanes: overrides.notifications?.lanes ?? new TableLaneStore(tables(LANES_TABLE)),
    subscriptions: subscriptionStore,
    secrets: signingSecrets,
    deliveryLog,
    queue: notificationQueue ?? NO_QUEUE,
    send: overrides.notifications?.send ?? webhookSenderFor(config),
    ...eventGrid,
    clock,
    random: overrides.random ?? Math.random,
    logger: overrides.logger ?? silentLogger,
    telemetry,
  });
  const statusWaits = new StatusWaits<StatusRead>({
    read: (id) => readStatusSnapshot(store, id),
    clock,
    notifier,
    pollSchedule: config.pollSchedule,
  });
  const poller = new Poller({
    store,
    keys,
    getAdapter,
    fetchUpstream: overrides.fetchUpstream ?? fetchUpstream,
    clock,
    random: overrides.random ?? Math.random,
    logger: overrides.logger ?? silentLogger,
    telemetry,
    ...(overrides.handOff === false ? {} : { queue: pollQueue }),
    notifier,
    ...(notificationQueue
      ? {
          transitions: {
            wanted: () => listeners.any(),
            stored: (jobId: string) => notifications.transitionStored(jobId),
          },
        }
      : {}),
    settings: config,
  });
  const directory = new ResourceDirectory(store, clock);
  const api = new JobsApi({
    onRegistered: (job) => directory.add(resourceOf(job.endpoint), job.keySecretName),
    store,
    poller,
    clock,
    statusWaits,
    getAdapter,
    listKinds,
    allowedUpstreamOrigins: config.allowedUpstreamOrigins,
    telemetry,
  });
  const metrics = overrides.metrics;
  // Export off: nothing to flush, and nothing awaited after each timer run or queued poll.
  const flushMetrics = metrics
    ? async (logger: Logger): Promise<void> => {
        await metrics.flush().catch((e: unknown) => {
          logger.warn('metrics not exported', { error: e instanceof Error ? e.message : String(e) });
        });
      }
    : (): Promise<void> => DONE;
  const subscriptions = new SubscriptionsApi({
    store: subscriptionStore,
    deliveries: deliveryLog,
    secrets: signingSecrets,
    clock,
    listKinds,
    allowedWebhookOrigins: config.notifications.allowedWebhookOrigins,
    onCreated: () => listeners.added(),
  });
  const dropIn = new DropInApi({
    store,
    poller,
    keys,
    clock,
    adapters: listAdapters(),
    allowedUpstreamOrigins: config.allowedUpstreamOrigins,
    directory,
    attempts: new AttemptLimiter(clock),
    ...(config.dropInFunctionKeySecretName
      ? { functionKeySecretName: config.dropInFunctionKeySecretName }
      : {}),
  });
  return {
    config,
    store,
    keys,
    poller,
    api,
    pollQueue,
    flushMetrics,
    statusWaits,
    notifications,
    notificationQueue: notificationQueue ?? NO_QUEUE,
    subscriptionStore,
    deliveryLog,
    signingSecrets,
    subscriptions,
    dropIn,
  };
}

const DONE = Promise.resolve();

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

function pollQueueFor(config: Config, clock: Clock): StoragePollQueue {
  return new StoragePollQueue({ client: queueClientFor(config), clock });
}

/** A queue on the polls queue's connection (`polls`, `notifications`: docs/spec.md §9). */
function queueClientFor(config: Config, queueName?: string): QueueClient {
  const queue = config.pollQueue;
  const name = queueName ? { queueName } : {};
  return queue.kind === 'connectionString'
    ? createPollQueueClient({ connectionString: queue.connectionString, ...name })
    : createPollQueueClient({
        queueServiceUri: queue.queueServiceUri,
        credential: queue.managedIdentity
          ? new ManagedIdentityCredential(queue.clientId ? { clientId: queue.clientId } : {})
          : credentialFor(config),
        ...name,
      });
}

/** Webhooks: 10 s per attempt, the connect-time address check, `ALLOWED_WEBHOOK_ORIGINS` exempt. */
function webhookSenderFor(config: Config): SendWebhook {
  return createWebhookSender({
    timeoutMs: WEBHOOK_TIMEOUT_MS,
    allowedOrigins: config.notifications.allowedWebhookOrigins,
  });
}

function eventGridFor(
  config: Config,
  overrides: NotificationOverrides | undefined,
): Pick<NotificationDeps, 'eventGrid'> {
  if (overrides?.eventGrid) return { eventGrid: overrides.eventGrid };
  const endpoint = config.notifications.eventGridTopicEndpoint;
  return endpoint
    ? { eventGrid: new EventGridPublisher({ endpoint, credential: credentialFor(config) }) }
    : {};
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

/** The managed identity (Azure, or the local identity stand-in), else the developer's credential. */
export function credentialFor(config: Config): TokenCredential {
  const { available, clientId } = config.managedIdentity;
  if (available) return new ManagedIdentityCredential(clientId ? { clientId } : {});
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}

/** A process without a notifications queue (a caller replaced the polls queue and passed none). */
const NO_QUEUE: NotificationQueue = {
  send: () => Promise.reject(new Error('No notifications queue in this process')),
};
