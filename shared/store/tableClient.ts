import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';

export type TableClientFactory = (tableName: string) => TableClient;

export type TableClientFactoryOptions = (
  { connectionString: string } | { tableServiceUri: string; credential: TokenCredential }
) & {
  /** Extra pipeline options (retry, additional policies). */
  clientOptions?: TableServiceClientOptions;
};

/**
 * Builds the `tableClient` factory from a connection string (local / Azurite) or from the table service URI and a
 * token credential (managed identity; no account keys). An `http` table endpoint (Azurite) is allowed explicitly.
 */
export function createTableClientFactory(options: TableClientFactoryOptions): TableClientFactory {
  if ('connectionString' in options) {
    const { connectionString } = options;
    const insecure = usesHttpTableEndpoint(connectionString);
    return (tableName) =>
      TableClient.fromConnectionString(connectionString, tableName, {
        ...options.clientOptions,
        ...(insecure ? { allowInsecureConnection: true } : {}),
      });
  }
  const { tableServiceUri, credential } = options;
  return (tableName) => new TableClient(tableServiceUri, tableName, credential, options.clientOptions);
}

function usesHttpTableEndpoint(connectionString: string): boolean {
  const parts = new Map<string, string>();
  for (const segment of connectionString.split(';')) {
    const eq = segment.indexOf('=');
    if (eq > 0) parts.set(segment.slice(0, eq).trim().toLowerCase(), segment.slice(eq + 1).trim());
  }
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true') return true;
  const endpoint = parts.get('tableendpoint');
  if (endpoint !== undefined) return endpoint.toLowerCase().startsWith('http://');
  return parts.get('defaultendpointsprotocol')?.toLowerCase() === 'http';
}

/** The HTTP status of a failed Table call, when it has one. */
export function statusCodeOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const code = error.statusCode;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

export type Signal = { abortSignal?: AbortSignal };

/** Only the abort signal of an options bag, for the SDK's own options. */
export function opts(options: Signal | undefined): Signal {
  return options?.abortSignal ? { abortSignal: options.abortSignal } : {};
}
