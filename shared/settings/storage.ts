import type { Config, PollQueueConfig } from '../config';
import type { Settings } from './schema';

/** Where the status tables and the queues live: connection strings or identity-based endpoints. */
export function parseStorage(s: Settings, problems: string[]): Config['storage'] | undefined {
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

export function parsePollQueue(s: Settings, problems: string[]): PollQueueConfig | undefined {
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

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}
