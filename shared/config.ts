import { z } from 'zod';
import { ConfigError } from './errors';
import { parseSchedule, type Schedule } from './schedule';
import { SECRET_NAME_PATTERN } from './model';
import { isLoopbackHost } from './upstream/allowList';
import type { RateBudget } from './upstream/types';

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

export const DEFAULT_POLL_SCHEDULE = '0 */1 * * * *';
export const DEFAULT_WEBHOOK_SIGNING_SECRET_NAME = 'webhook-signing';

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

function integerSetting(defaultValue: number, min: number, max: number) {
  return optionalText.pipe(
    z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
      .optional()
      .transform((v) => v ?? defaultValue),
  );
}

const schema = z.object({
  AzureWebJobsStorage: optionalText,
  AzureWebJobsStorage__tableServiceUri: optionalText,
  AzureWebJobsStorage__accountName: optionalText,
  AzureWebJobsStorage__clientId: optionalText,
  AzureWebJobsStorage__queueServiceUri: optionalText,
  AzureWebJobsStorage__credential: optionalText,
  STATUS_STORAGE: optionalText,
  STATUS_STORAGE__tableServiceUri: optionalText,
  STATUS_STORAGE__clientId: optionalText,
  POLL_QUEUE: optionalText,
  POLL_QUEUE__queueServiceUri: optionalText,
  POLL_QUEUE__credential: optionalText,
  POLL_QUEUE__clientId: optionalText,
  KEY_VAULT_URL: optionalText,
  AZURE_CLIENT_ID: optionalText,
  IDENTITY_ENDPOINT: optionalText,
  MSI_ENDPOINT: optionalText,
  POLL_SCHEDULE: optionalText.transform((v) => v ?? DEFAULT_POLL_SCHEDULE),
  ALLOWED_UPSTREAM_HOSTS: optionalText,
  UPSTREAM_RATE_LIMITS: optionalText,
  SECRET_CACHE_TTL_SECONDS: integerSetting(300, 0, 86_400),
  UPSTREAM_TIMEOUT_SECONDS: integerSetting(10, 1, 120),
  CYCLE_DEADLINE_SECONDS: integerSetting(50, 5, 3_600),
  CYCLE_MAX_JOBS: integerSetting(10_000, 1, 1_000_000),
  IDLE_INTERVAL_SECONDS: integerSetting(900, 0, 7 * 86_400),
  PORT: integerSetting(7071, 1, 65_535),
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText,
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: optionalText,
  OTEL_METRIC_EXPORT_INTERVAL: integerSetting(60_000, 100, 3_600_000),
  WEBHOOK_SIGNING_SECRET_NAME: optionalText.transform((v) => v ?? DEFAULT_WEBHOOK_SIGNING_SECRET_NAME),
  ALLOWED_WEBHOOK_ORIGINS: optionalText,
  EVENT_GRID_TOPIC_ENDPOINT: optionalText,
  DROP_IN_FUNCTION_KEY_SECRET_NAME: optionalText,
});

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

type Settings = z.infer<typeof schema>;

function parseStorage(s: Settings, problems: string[]): Config['storage'] | undefined {
  const identity = (
    uri: string,
    name: string,
    clientId: string | undefined,
  ): Config['storage'] | undefined => {
    if (!isHttpsUrl(uri)) {
      problems.push(`${name}: must be an https:// table endpoint`);
      return undefined;
    }
    const id = clientId ?? s.AZURE_CLIENT_ID;
    return { kind: 'identity', tableServiceUri: uri.replace(/\/+$/, ''), ...(id ? { clientId: id } : {}) };
  };
  if (s.STATUS_STORAGE) return connectionString(s.STATUS_STORAGE, 'STATUS_STORAGE', problems);
  if (s.STATUS_STORAGE__tableServiceUri) {
    return identity(
      s.STATUS_STORAGE__tableServiceUri,
      'STATUS_STORAGE__tableServiceUri',
      s.STATUS_STORAGE__clientId,
    );
  }
  if (s.AzureWebJobsStorage) return connectionString(s.AzureWebJobsStorage, 'AzureWebJobsStorage', problems);
  if (s.AzureWebJobsStorage__tableServiceUri) {
    return identity(
      s.AzureWebJobsStorage__tableServiceUri,
      'AzureWebJobsStorage__tableServiceUri',
      s.AzureWebJobsStorage__clientId,
    );
  }
  if (s.AzureWebJobsStorage__accountName) {
    if (!/^[a-z0-9]{3,24}$/.test(s.AzureWebJobsStorage__accountName)) {
      problems.push('AzureWebJobsStorage__accountName: must be 3-24 lowercase letters or digits');
      return undefined;
    }
    return identity(
      `https://${s.AzureWebJobsStorage__accountName}.table.core.windows.net`,
      'AzureWebJobsStorage__accountName',
      s.AzureWebJobsStorage__clientId,
    );
  }
  problems.push(
    'AzureWebJobsStorage: required (a connection string, or AzureWebJobsStorage__accountName / STATUS_STORAGE__tableServiceUri for identity-based access)',
  );
  return undefined;
}

function parsePollQueue(s: Settings, problems: string[]): PollQueueConfig | undefined {
  const identity = (
    connection: PollQueueConfig['connection'],
    uri: string,
    name: string,
    credential: string | undefined,
    clientId: string | undefined,
  ): PollQueueConfig | undefined => {
    let ok = true;
    if (!isHttpsUrl(uri)) {
      problems.push(`${name}: must be an https:// queue endpoint`);
      ok = false;
    }
    if (credential !== undefined && credential.toLowerCase() !== 'managedidentity') {
      problems.push(`${connection}__credential: must be 'managedidentity' (or absent)`);
      ok = false;
    }
    if (!ok) return undefined;
    const id = clientId ?? s.AZURE_CLIENT_ID;
    return {
      connection,
      kind: 'identity',
      queueServiceUri: uri.replace(/\/+$/, ''),
      managedIdentity: credential !== undefined,
      ...(id ? { clientId: id } : {}),
    };
  };
  if (s.POLL_QUEUE) {
    if (!isQueueConnectionString(s.POLL_QUEUE)) {
      // Never echo the value: it may hold an account key.
      problems.push('POLL_QUEUE: is not a storage connection string (needs AccountName= or QueueEndpoint=)');
      return undefined;
    }
    return { connection: 'POLL_QUEUE', kind: 'connectionString', connectionString: s.POLL_QUEUE };
  }
  if (s.POLL_QUEUE__queueServiceUri) {
    return identity(
      'POLL_QUEUE',
      s.POLL_QUEUE__queueServiceUri,
      'POLL_QUEUE__queueServiceUri',
      s.POLL_QUEUE__credential,
      s.POLL_QUEUE__clientId,
    );
  }
  if (s.POLL_QUEUE__credential || s.POLL_QUEUE__clientId) {
    problems.push('POLL_QUEUE__queueServiceUri: required with POLL_QUEUE__credential / POLL_QUEUE__clientId');
    return undefined;
  }
  const fallback = 'AzureWebJobsStorage';
  if (s.AzureWebJobsStorage) {
    if (isQueueConnectionString(s.AzureWebJobsStorage)) {
      return { connection: fallback, kind: 'connectionString', connectionString: s.AzureWebJobsStorage };
    }
    // Not a connection string at all: parseStorage lists that problem already.
    if (/(^|;)\s*TableEndpoint=/i.test(s.AzureWebJobsStorage)) {
      problems.push('POLL_QUEUE: required, AzureWebJobsStorage has no queue endpoint (QueueEndpoint=)');
    }
    return undefined;
  }
  const uri =
    s.AzureWebJobsStorage__queueServiceUri ??
    (s.AzureWebJobsStorage__accountName && /^[a-z0-9]{3,24}$/.test(s.AzureWebJobsStorage__accountName)
      ? `https://${s.AzureWebJobsStorage__accountName}.queue.core.windows.net`
      : undefined);
  if (uri) {
    return identity(
      fallback,
      uri,
      s.AzureWebJobsStorage__queueServiceUri
        ? 'AzureWebJobsStorage__queueServiceUri'
        : 'AzureWebJobsStorage__accountName',
      s.AzureWebJobsStorage__credential,
      s.AzureWebJobsStorage__clientId,
    );
  }
  // Without AzureWebJobsStorage, parseStorage names it; say what the queue needs only when tables were given.
  if (
    !s.AzureWebJobsStorage__accountName &&
    (s.STATUS_STORAGE || s.STATUS_STORAGE__tableServiceUri || s.AzureWebJobsStorage__tableServiceUri)
  ) {
    problems.push(
      'POLL_QUEUE: required (a connection string, or POLL_QUEUE__queueServiceUri) when AzureWebJobsStorage has no queue endpoint',
    );
  }
  return undefined;
}

function isQueueConnectionString(value: string): boolean {
  return value === 'UseDevelopmentStorage=true' || /(^|;)\s*(AccountName|QueueEndpoint)=/i.test(value);
}

function connectionString(value: string, name: string, problems: string[]): Config['storage'] | undefined {
  if (value === 'UseDevelopmentStorage=true' || /(^|;)\s*(AccountName|TableEndpoint)=/i.test(value)) {
    return { kind: 'connectionString', connectionString: value };
  }
  // Never echo the value: it may hold an account key.
  problems.push(`${name}: is not a storage connection string (needs AccountName= or TableEndpoint=)`);
  return undefined;
}

function parseKeyVaultUrl(value: string | undefined, problems: string[]): string | undefined {
  if (!value) {
    problems.push('KEY_VAULT_URL: required (https://<vault-name>.vault.azure.net)');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push('KEY_VAULT_URL: is not a URL');
    return undefined;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    problems.push('KEY_VAULT_URL: must be https:// (plain http only for a loopback development vault)');
    return undefined;
  }
  return url.origin;
}

function parseNotifications(
  s: {
    WEBHOOK_SIGNING_SECRET_NAME: string;
    ALLOWED_WEBHOOK_ORIGINS?: string | undefined;
    EVENT_GRID_TOPIC_ENDPOINT?: string | undefined;
  },
  problems: string[],
): NotificationSettings {
  if (!SECRET_NAME_PATTERN.test(s.WEBHOOK_SIGNING_SECRET_NAME)) {
    problems.push('WEBHOOK_SIGNING_SECRET_NAME: must be a Key Vault secret name (1-127 of a-z A-Z 0-9 -)');
  }
  const allowedWebhookOrigins = parseAllowedOrigins(
    'ALLOWED_WEBHOOK_ORIGINS',
    s.ALLOWED_WEBHOOK_ORIGINS,
    problems,
  );
  let eventGridTopicEndpoint: string | undefined;
  if (s.EVENT_GRID_TOPIC_ENDPOINT) {
    let url: URL | undefined;
    try {
      url = new URL(s.EVENT_GRID_TOPIC_ENDPOINT);
    } catch {
      problems.push('EVENT_GRID_TOPIC_ENDPOINT: is not a URL');
    }
    if (url && url.protocol !== 'https:') {
      problems.push('EVENT_GRID_TOPIC_ENDPOINT: must be https://');
    } else if (url && (url.username || url.password)) {
      problems.push('EVENT_GRID_TOPIC_ENDPOINT: must not carry user info');
    } else if (url) {
      eventGridTopicEndpoint = url.href;
    }
  }
  return {
    signingSecretName: s.WEBHOOK_SIGNING_SECRET_NAME,
    allowedWebhookOrigins,
    ...(eventGridTopicEndpoint ? { eventGridTopicEndpoint } : {}),
  };
}

function parseAllowedOrigins(setting: string, value: string | undefined, problems: string[]): string[] {
  if (!value) return [];
  const origins: string[] = [];
  for (const raw of value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      problems.push(`${setting}: '${raw}' is not an origin (scheme://host[:port])`);
      continue;
    }
    if (url.origin === 'null' || raw.replace(/\/$/, '').toLowerCase() !== url.origin.toLowerCase()) {
      problems.push(`${setting}: '${raw}' must be an exact origin with no path, query or user info`);
    } else if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      problems.push(`${setting}: '${raw}' uses plain http; only loopback origins may`);
    } else if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push(`${setting}: '${raw}' must be http(s)`);
    } else {
      origins.push(url.origin);
    }
  }
  return origins;
}

const PERIODS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  min: 60_000,
  m: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  day: 86_400_000,
  d: 86_400_000,
  /** A month of 30 days. */
  month: 30 * 86_400_000,
};

/** `N/unit`: a count and its period (ms), or undefined. */
function parseRate(text: string): { calls: number; periodMs: number } | undefined {
  const match = /^(\d+)\/([a-z]+)$/.exec(text);
  const periodMs = match ? PERIODS[match[2]!] : undefined;
  const calls = match ? Number(match[1]) : 0;
  return periodMs !== undefined && calls >= 1 ? { calls, periodMs } : undefined;
}

/** `host[:port]=N/unit` with an optional long-period allowance `+N/unit` (e.g. `=20/min+3000/month`). */
function parseRateLimits(value: string | undefined, problems: string[]): Map<string, RateBudget> {
  const limits = new Map<string, RateBudget>();
  if (!value) return limits;
  for (const item of value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z0-9.-]+(?::\d{1,5})?|\[[0-9a-fA-F:]+\](?::\d{1,5})?)=([^+]+)(?:\+(.+))?$/.exec(
      item,
    );
    const rate = match ? parseRate(match[2]!) : undefined;
    const allowance = match?.[3] !== undefined ? parseRate(match[3]) : undefined;
    if (!match || !rate || (match[3] !== undefined && !allowance)) {
      problems.push(
        `UPSTREAM_RATE_LIMITS: '${item}' must look like host[:port]=N/s, N/min or N/h with N >= 1, ` +
          'optionally followed by a long-period allowance such as +3000/day or +3000/month',
      );
      continue;
    }
    if (allowance && allowance.periodMs <= rate.periodMs) {
      problems.push(
        `UPSTREAM_RATE_LIMITS: '${item}': the allowance after '+' must be over a longer period than the rate`,
      );
      continue;
    }
    limits.set(match[1]!.toLowerCase(), { ...rate, ...(allowance ? { allowance } : {}) });
  }
  return limits;
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `Key=value;Key=value` (keys case-insensitive, lowercased), or undefined when it is not of that shape. */
function keyValuePairs(value: string): Map<string, string> | undefined {
  const pairs = new Map<string, string>();
  for (const part of value.split(';').map((p) => p.trim())) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    pairs.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return pairs;
}

function parseTelemetry(s: Settings, problems: string[]): TelemetrySettings | undefined {
  const connection = s.APPLICATIONINSIGHTS_CONNECTION_STRING;
  const auth = s.APPLICATIONINSIGHTS_AUTHENTICATION_STRING;
  if (connection === undefined) return undefined;
  const name = 'APPLICATIONINSIGHTS_CONNECTION_STRING';
  const count = problems.length;
  const pairs = keyValuePairs(connection);
  // Never echo the value.
  if (!pairs) {
    problems.push(`${name}: is not a connection string (InstrumentationKey=…;IngestionEndpoint=https://…)`);
    return undefined;
  }
  if (!GUID.test(pairs.get('instrumentationkey') ?? '')) {
    problems.push(
      `${name}: needs InstrumentationKey=<GUID> (copy it from the Application Insights resource)`,
    );
  }
  const endpoint = pairs.get('ingestionendpoint') || 'https://dc.services.visualstudio.com';
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    problems.push(`${name}: IngestionEndpoint is not a URL`);
  }
  // The exporter sends to https whatever the scheme given: a plain-http endpoint would never be reached.
  if (url && url.protocol !== 'https:') problems.push(`${name}: IngestionEndpoint must be https://`);
  let entraId: TelemetrySettings['entraId'];
  if (auth !== undefined) {
    const authPairs = keyValuePairs(auth);
    const clientId = authPairs?.get('clientid');
    const known = [...(authPairs?.keys() ?? [])].every((k) => k === 'authorization' || k === 'clientid');
    if (!authPairs || authPairs.get('authorization')?.toUpperCase() !== 'AAD' || !known) {
      problems.push('APPLICATIONINSIGHTS_AUTHENTICATION_STRING: must be Authorization=AAD[;ClientId=<GUID>]');
    } else if (clientId !== undefined && !GUID.test(clientId)) {
      problems.push('APPLICATIONINSIGHTS_AUTHENTICATION_STRING: ClientId must be a GUID');
    } else {
      entraId = clientId ? { clientId } : {};
    }
  }
  if (problems.length > count || !url) return undefined;
  return {
    connectionString: connection,
    ingestionEndpoint: url.origin,
    ...(entraId ? { entraId } : {}),
    exportIntervalMs: s.OTEL_METRIC_EXPORT_INTERVAL,
  };
}
