import { ConfigError } from './errors';
import { SECRET_NAME_PATTERN } from './model';
import { parseSchedule, type Schedule } from './schedule';
import { schema } from './settings/schema';
import { parsePollQueue, parseStorage } from './settings/storage';
import { parseTelemetry } from './settings/telemetry';
import {
  parseAllowedOrigins,
  parseKeyVaultUrl,
  parseNotifications,
  parseRateLimits,
} from './settings/values';
import type { RateBudget } from './upstream/types';

export { DEFAULT_POLL_SCHEDULE, DEFAULT_WEBHOOK_SIGNING_SECRET_NAME } from './settings/schema';

/**
 * Settings (docs/spec.md §9) parsed once, at start, into a typed object. Nothing else reads `process.env`.
 * Every problem is listed at once.
 */
export interface Config {
  storage:
    | { kind: 'connectionString'; connectionString: string }
    | { kind: 'identity'; tableServiceUri: string; clientId?: string };
  /** The `polls` queue (docs/spec.md §5, §9). */
  pollQueue: PollQueueConfig;
  keyVaultUrl: string;
  /** The managed identity endpoint is present (Azure, or the local identity stand-in). */
  managedIdentity: { available: boolean; clientId?: string };
  /** Extra exact origins allowed as upstream endpoints (docs/spec.md §8). */
  allowedUpstreamOrigins: string[];
  /** Per-resource budgets (`host` or `host:port`, lowercase). */
  rateLimits: Map<string, RateBudget>;
  secretCacheTtlMs: number;
  upstreamTimeoutMs: number;
  cycleDeadlineMs: number;
  cycleMaxJobs: number;
  idleIntervalMs: number;
  /** Metric export to Application Insights (docs/spec.md §11); absent: no export. */
  telemetry?: TelemetrySettings;
  /** When the poll cycle runs (`POLL_SCHEDULE`): long-poll waiters read around it (docs/spec.md §7). */
  pollSchedule: Schedule;
  /** Webhooks and Event Grid (docs/spec.md §12). */
  notifications: NotificationSettings;
  /**
   * `DROP_IN_FUNCTION_KEY_SECRET_NAME`: the Key Vault secret whose value `x-functions-key` may carry on the drop-in
   * routes (docs/spec.md §13); absent: only the upstream's own key header authorizes them.
   */
  dropInFunctionKeySecretName?: string;
}

export interface NotificationSettings {
  /** `WEBHOOK_SIGNING_SECRET_NAME`: the Key Vault secret every subscription's signing secret is derived from. */
  signingSecretName: string;
  /** `ALLOWED_WEBHOOK_ORIGINS`: extra exact webhook origins (plain http only for loopback ones). */
  allowedWebhookOrigins: string[];
  /** `EVENT_GRID_TOPIC_ENDPOINT` (https): also publish CloudEvents 1.0 there; absent: no Event Grid. */
  eventGridTopicEndpoint?: string;
}

export interface TelemetrySettings {
  /** `APPLICATIONINSIGHTS_CONNECTION_STRING`, checked: an instrumentation key and an ingestion endpoint. */
  connectionString: string;
  /** Origin of the ingestion endpoint (https). */
  ingestionEndpoint: string;
  /** `APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD[;ClientId=…]`: Entra ID through the managed identity. */
  entraId?: { clientId?: string };
  /** `OTEL_METRIC_EXPORT_INTERVAL`. */
  exportIntervalMs: number;
}

/**
 * Where the `polls` queue lives. `connection` is the setting prefix the queue trigger names, resolved as the
 * Functions host resolves it: `POLL_QUEUE` when any `POLL_QUEUE` setting is given, else `AzureWebJobsStorage`.
 */
export type PollQueueConfig = { connection: 'POLL_QUEUE' | 'AzureWebJobsStorage' } & (
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; queueServiceUri: string; managedIdentity: boolean; clientId?: string }
);

/** Every setting the app reads, with its default (infra checks compare app settings against this list). */
export const SETTINGS = {
  AzureWebJobsStorage: 'Functions storage; the status tables too unless STATUS_STORAGE is set',
  STATUS_STORAGE: 'connection string for the status tables',
  STATUS_STORAGE__tableServiceUri: 'identity-based table endpoint for the status tables',
  STATUS_STORAGE__clientId: 'user-assigned identity for the status tables',
  POLL_QUEUE: 'connection string for the polls queue',
  POLL_QUEUE__queueServiceUri: 'identity-based queue endpoint for the polls queue',
  POLL_QUEUE__credential: "'managedidentity' for the polls queue endpoint",
  POLL_QUEUE__clientId: 'user-assigned identity for the polls queue',
  KEY_VAULT_URL: 'vault holding the subscription keys',
  AZURE_CLIENT_ID: 'user-assigned managed identity client id',
  POLL_SCHEDULE: 'NCRONTAB schedule of the poll cycle',
  ALLOWED_UPSTREAM_HOSTS: 'extra exact upstream origins',
  UPSTREAM_RATE_LIMITS: 'per-host budgets',
  SECRET_CACHE_TTL_SECONDS: 'secret cache TTL',
  UPSTREAM_TIMEOUT_SECONDS: 'timeout of one upstream call',
  CYCLE_DEADLINE_SECONDS: 'deadline of one poll cycle',
  CYCLE_MAX_JOBS: 'most jobs one cycle selects',
  IDLE_INTERVAL_SECONDS: 'poll interval of idle Face groups and notFound jobs (0 = stop)',
  PORT: 'local host port (npm start only)',
  APPLICATIONINSIGHTS_CONNECTION_STRING:
    'Application Insights component to export metrics to (none: no export)',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=…: export with the managed identity',
  OTEL_METRIC_EXPORT_INTERVAL: 'metric export interval (ms)',
  WEBHOOK_SIGNING_SECRET_NAME: 'Key Vault secret the webhook signing secrets are derived from',
  ALLOWED_WEBHOOK_ORIGINS: 'extra exact webhook origins',
  EVENT_GRID_TOPIC_ENDPOINT: 'Event Grid topic to publish CloudEvents to (none: no Event Grid)',
  DROP_IN_FUNCTION_KEY_SECRET_NAME:
    'Key Vault secret whose value x-functions-key may carry on the drop-in routes (none: upstream keys only)',
} as const;

/** The settings that name the status tables' storage: any one of them is enough. */
export const STORAGE_SETTINGS = [
  'AzureWebJobsStorage',
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__tableServiceUri',
  'STATUS_STORAGE',
  'STATUS_STORAGE__tableServiceUri',
] as const;

/**
 * Every environment variable the app reads: those `loadConfig` parses (the documented `SETTINGS`, the alternative
 * storage forms and the platform's identity endpoint) and the identity endpoint's header, which the identity SDK
 * reads itself. Local stacks and benchmarks clear these to start from a known environment.
 */
export const APP_ENVIRONMENT: readonly string[] = [...Object.keys(schema.shape), 'IDENTITY_HEADER'];

/** Parses the settings; throws ConfigError listing every problem. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const problems: string[] = [];
  let parsed = schema.safeParse(env);
  if (!parsed.success) {
    // Keep going without the faulty settings, so every other problem is listed too.
    problems.push(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    const faulty = new Set(parsed.error.issues.map((i) => String(i.path[0])));
    parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([name]) => !faulty.has(name))));
    if (!parsed.success) throw new ConfigError(problems);
  }
  const s = parsed.data;

  const storage = parseStorage(s, problems);
  const pollQueue = parsePollQueue(s, problems);
  const keyVaultUrl = parseKeyVaultUrl(s.KEY_VAULT_URL, problems);
  let pollSchedule: Schedule | undefined;
  try {
    pollSchedule = parseSchedule(s.POLL_SCHEDULE);
  } catch (e) {
    problems.push(`POLL_SCHEDULE: ${(e as Error).message}`);
  }
  const allowedUpstreamOrigins = parseAllowedOrigins(
    'ALLOWED_UPSTREAM_HOSTS',
    s.ALLOWED_UPSTREAM_HOSTS,
    problems,
  );
  const notifications = parseNotifications(s, problems);
  const rateLimits = parseRateLimits(s.UPSTREAM_RATE_LIMITS, problems);
  const telemetry = parseTelemetry(s, problems);
  const dropInFunctionKeySecretName = s.DROP_IN_FUNCTION_KEY_SECRET_NAME;
  if (dropInFunctionKeySecretName !== undefined && !SECRET_NAME_PATTERN.test(dropInFunctionKeySecretName)) {
    problems.push(
      'DROP_IN_FUNCTION_KEY_SECRET_NAME: must be a Key Vault secret name (1-127 of a-z A-Z 0-9 -)',
    );
  }
  if (s.UPSTREAM_TIMEOUT_SECONDS >= s.CYCLE_DEADLINE_SECONDS) {
    problems.push('UPSTREAM_TIMEOUT_SECONDS: must be shorter than CYCLE_DEADLINE_SECONDS');
  }

  if (problems.length > 0 || !storage || !pollQueue || !keyVaultUrl || !pollSchedule)
    throw new ConfigError(problems);
  const clientId = s.AZURE_CLIENT_ID;
  return {
    storage,
    pollQueue,
    keyVaultUrl,
    managedIdentity: {
      available: s.IDENTITY_ENDPOINT !== undefined || s.MSI_ENDPOINT !== undefined,
      ...(clientId ? { clientId } : {}),
    },
    allowedUpstreamOrigins,
    rateLimits,
    secretCacheTtlMs: s.SECRET_CACHE_TTL_SECONDS * 1000,
    upstreamTimeoutMs: s.UPSTREAM_TIMEOUT_SECONDS * 1000,
    cycleDeadlineMs: s.CYCLE_DEADLINE_SECONDS * 1000,
    cycleMaxJobs: s.CYCLE_MAX_JOBS,
    idleIntervalMs: s.IDLE_INTERVAL_SECONDS * 1000,
    ...(telemetry ? { telemetry } : {}),
    pollSchedule,
    notifications,
    ...(dropInFunctionKeySecretName ? { dropInFunctionKeySecretName } : {}),
  };
}
