import type { TelemetrySettings } from '../config';
import type { Settings } from './schema';

/** Metric export to Application Insights (docs/spec.md §11): the connection and authentication strings. */
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

export function parseTelemetry(s: Settings, problems: string[]): TelemetrySettings | undefined {
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
