import type { NotificationSettings } from '../config';
import { SECRET_NAME_PATTERN } from '../model';
import { isLoopbackHost } from '../upstream/allowList';
import type { RateBudget } from '../upstream/types';

/** The vault, allowed origins, budgets and notification settings. */
export function parseKeyVaultUrl(value: string | undefined, problems: string[]): string | undefined {
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

export function parseNotifications(
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

export function parseAllowedOrigins(
  setting: string,
  value: string | undefined,
  problems: string[],
): string[] {
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
export function parseRate(text: string): { calls: number; periodMs: number } | undefined {
  const match = /^(\d+)\/([a-z]+)$/.exec(text);
  const periodMs = match ? PERIODS[match[2]!] : undefined;
  const calls = match ? Number(match[1]) : 0;
  return periodMs !== undefined && calls >= 1 ? { calls, periodMs } : undefined;
}

/** `host[:port]=N/unit` with an optional long-period allowance `+N/unit` (e.g. `=20/min+3000/month`). */
export function parseRateLimits(value: string | undefined, problems: string[]): Map<string, RateBudget> {
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
