import { randomBytes } from 'node:crypto';
import type { FunctionDefinition } from '../functions/registry';
import { DEFAULT_WEBHOOK_SIGNING_SECRET_NAME, STORAGE_SETTINGS } from '../shared/config';
import { startAzurite, type AzuriteInstance } from './azurite';
import { startLocalHost, type HostLogEntry, type LocalHost } from './host';
import { startIdentityEndpoint, type IdentityEndpoint } from './identityStandIn';
import { startKeyVault, type KeyVaultStandIn } from './keyVaultStandIn';
import {
  startUpstreamSimulator,
  type UpstreamSimulator,
  type UpstreamSimulatorOptions,
} from './upstreamSimulator';

/**
 * Loads the function app. Outside the Functions host, @azure/functions warns once per registration that it is in
 * test mode; the local host serves the same table itself, so those lines are noise here.
 */
export async function loadFunctionTable(): Promise<readonly FunctionDefinition[]> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('"@azure/functions" package')) return;
    warn(...args);
  };
  try {
    return (await import('../functions/index.js')).functionTable;
  } finally {
    console.warn = warn;
  }
}

/** The secret the demo jobs name; its value is made up at start and shared by the vault and the simulator. */
export const DEMO_SECRET_NAME = 'demo-upstream-key';

export interface LocalStack {
  host: LocalHost;
  /** Present when this stack started them (the setting was absent). */
  azurite?: AzuriteInstance;
  vault?: KeyVaultStandIn;
  identity?: IdentityEndpoint;
  simulator?: UpstreamSimulator;
  /** The settings the app runs with (absent ones filled by the stand-ins). */
  settings: Record<string, string | undefined>;
  /** Registration ids of the demo jobs, when registered. */
  demoJobIds: string[];
  /** The subscription key the stand-ins share (tests use it to check it never leaks). */
  upstreamKey?: string;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  /** The process environment; absent settings are filled in it (the identity SDK reads it directly). */
  env: NodeJS.ProcessEnv;
  port?: number;
  runTimers?: boolean;
  /** Run the queue-triggered functions on their queues (default true; off for a timer-only process). */
  runQueueTriggers?: boolean;
  /** Invisibility of a message while its handler runs (default: the host's 10 minutes). */
  queueLeaseMs?: number;
  registerDemoJobs?: boolean;
  simulator?: Omit<UpstreamSimulatorOptions, 'keys'>;
  /** Budget of the embedded simulator resource (default 120/min). */
  simulatorBudget?: string;
  /** A fixed subscription key instead of a random one. */
  upstreamKey?: string;
  onLog?: (entry: HostLogEntry) => void;
  /** `false`: the host runs no queue-triggered function (a process that only serves HTTP, as in benchmark 1). */
  queueTriggers?: false;
}

/**
 * Starts the app as `npm start` runs it: every absent setting is filled by an embedded stand-in (Azurite in
 * memory, the upstream simulator, a Key Vault stand-in and an identity endpoint); present settings are used as
 * given and no stand-in is started for them. Then the function table is served by the local host.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const env = options.env;
  const started: { stop(): Promise<void> }[] = [];
  const stack: Omit<LocalStack, 'host' | 'stop'> = { settings: {}, demoJobIds: [] };
  try {
    const hasStorage = STORAGE_SETTINGS.some((name) => env[name]);
    if (!hasStorage) {
      stack.azurite = await startAzurite();
      started.push(stack.azurite);
      env.AzureWebJobsStorage = stack.azurite.connectionString;
      // Azurite serves the polls queue too (the queue trigger's connection, docs/spec.md §9).
      env.POLL_QUEUE ??= stack.azurite.connectionString;
    }

    const key = options.upstreamKey ?? `sim-${randomBytes(16).toString('hex')}`;
    if (!env.KEY_VAULT_URL) {
      stack.identity = await startIdentityEndpoint();
      started.push(stack.identity);
      const identity = stack.identity;
      stack.vault = await startKeyVault({
        secrets: {
          [DEMO_SECRET_NAME]: key,
          // The root the webhook signing secrets are derived from (docs/spec.md §12), made up at start.
          [env.WEBHOOK_SIGNING_SECRET_NAME || DEFAULT_WEBHOOK_SIGNING_SECRET_NAME]:
            randomBytes(32).toString('base64'),
        },
        validateToken: (token) => identity.isValidToken(token),
        tenantId: identity.tenantId,
      });
      started.push(stack.vault);
      env.KEY_VAULT_URL = stack.vault.url;
      env.IDENTITY_ENDPOINT = identity.endpoint;
      env.IDENTITY_HEADER = identity.header;
      stack.upstreamKey = key;
    }

    if (!env.ALLOWED_UPSTREAM_HOSTS) {
      stack.simulator = await startUpstreamSimulator({ ...options.simulator, keys: [key] });
      started.push(stack.simulator);
      env.ALLOWED_UPSTREAM_HOSTS = stack.simulator.origin;
      // The simulator is one resource serving every kind: give it a budget the demo can use.
      env.UPSTREAM_RATE_LIMITS ??= `${new URL(stack.simulator.origin).host}=${options.simulatorBudget ?? '120/min'}`;
    }
    // Locally the demo should move within seconds; in Azure the default schedule is every minute.
    env.POLL_SCHEDULE ??= '*/10 * * * * *';

    // Settings are complete: load the function app (it parses them once and fails fast on a bad one).
    const functionTable = await loadFunctionTable();
    const host = await startLocalHost({
      functions: functionTable,
      port: options.port ?? 0,
      appSettings: env,
      runTimers: options.runTimers ?? false,
      ...(options.runQueueTriggers === false
        ? { queueTriggers: false as const }
        : options.queueLeaseMs
          ? { queueTriggers: { leaseMs: options.queueLeaseMs } }
          : {}),
      ...(options.onLog ? { onLog: options.onLog } : {}),
      ...(options.queueTriggers === false ? { queueTriggers: false as const } : {}),
    });
    started.push(host);
    stack.settings = { ...env };

    if (options.registerDemoJobs && stack.simulator && stack.vault) {
      for (const { kind, identity } of stack.simulator.addDemoJobs(new Date())) {
        const response = await fetch(`${host.url}/api/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            kind,
            ...identity,
            endpoint: stack.simulator.origin,
            keySecretName: DEMO_SECRET_NAME,
            pollIntervalSeconds: 10,
            displayName: `demo ${Object.values(identity).join('/')}`,
          }),
        });
        const job = (await response.json()) as { id?: string };
        if (!response.ok || !job.id) throw new Error(`Demo job registration failed with ${response.status}`);
        stack.demoJobIds.push(job.id);
      }
    }

    return {
      ...stack,
      host,
      stop: async () => {
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw error;
  }
}
