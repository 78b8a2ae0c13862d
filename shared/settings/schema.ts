import { z } from 'zod';

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

/** The schema of every setting the app reads (docs/spec.md §9): text in, typed values and defaults out. */
export const schema = z.object({
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

export type Settings = z.infer<typeof schema>;
