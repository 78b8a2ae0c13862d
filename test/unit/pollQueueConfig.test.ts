import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config';
import { problemsOf } from '../support/problems';

const vault = { KEY_VAULT_URL: 'https://contoso.vault.azure.net' };

describe('the polls queue settings (POLL_QUEUE)', () => {
  it('defaults to the AzureWebJobsStorage connection string', () => {
    // Act
    const config = loadConfig({ ...vault, AzureWebJobsStorage: 'UseDevelopmentStorage=true' });

    // Assess
    expect(config.pollQueue).toEqual({
      connection: 'AzureWebJobsStorage',
      kind: 'connectionString',
      connectionString: 'UseDevelopmentStorage=true',
    });
  });

  it('defaults to the identity-based AzureWebJobsStorage account, with its credential and client id', () => {
    // Act
    const config = loadConfig({
      ...vault,
      AzureWebJobsStorage__accountName: 'stcache01',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: 'abc',
    });

    // Assess
    expect(config.pollQueue).toEqual({
      connection: 'AzureWebJobsStorage',
      kind: 'identity',
      queueServiceUri: 'https://stcache01.queue.core.windows.net',
      managedIdentity: true,
      clientId: 'abc',
    });
  });

  it('uses POLL_QUEUE as given, and names it as the trigger connection', () => {
    // Act
    const config = loadConfig({
      ...vault,
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      POLL_QUEUE: 'AccountName=other;QueueEndpoint=http://127.0.0.1:10001/other',
    });

    // Assess
    expect(config.pollQueue).toEqual({
      connection: 'POLL_QUEUE',
      kind: 'connectionString',
      connectionString: 'AccountName=other;QueueEndpoint=http://127.0.0.1:10001/other',
    });
  });

  it('uses the identity-based POLL_QUEUE__queueServiceUri with __credential and __clientId', () => {
    // Act
    const config = loadConfig({
      ...vault,
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      POLL_QUEUE__queueServiceUri: 'https://stqueues.queue.core.windows.net/',
      POLL_QUEUE__credential: 'managedidentity',
      POLL_QUEUE__clientId: 'def',
      AZURE_CLIENT_ID: 'abc',
    });

    // Assess
    expect(config.pollQueue).toEqual({
      connection: 'POLL_QUEUE',
      kind: 'identity',
      queueServiceUri: 'https://stqueues.queue.core.windows.net',
      managedIdentity: true,
      clientId: 'def',
    });
  });

  it('falls back to AZURE_CLIENT_ID for the queue identity, and to the default credential without __credential', () => {
    // Act
    const config = loadConfig({
      ...vault,
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      POLL_QUEUE__queueServiceUri: 'https://stqueues.queue.core.windows.net',
      AZURE_CLIENT_ID: 'abc',
    });

    // Assess
    expect(config.pollQueue).toMatchObject({ kind: 'identity', managedIdentity: false, clientId: 'abc' });
  });

  it('lists invalid queue settings with every other problem, without echoing a connection string', () => {
    // Act
    const problems = problemsOf(() =>
      loadConfig({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        POLL_QUEUE: 'not-a-connection-string-SECRETVALUE',
        POLL_SCHEDULE: 'every minute',
      }),
    );
    const identityProblems = problemsOf(() =>
      loadConfig({
        ...vault,
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        POLL_QUEUE__queueServiceUri: 'http://stqueues.queue.core.windows.net',
        POLL_QUEUE__credential: 'password',
      }),
    );

    // Assess
    expect(problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining(['POLL_QUEUE', 'KEY_VAULT_URL', 'POLL_SCHEDULE']),
    );
    expect(problems.join('\n')).not.toContain('SECRETVALUE');
    expect(identityProblems).toEqual([
      'POLL_QUEUE__queueServiceUri: must be an https:// queue endpoint',
      "POLL_QUEUE__credential: must be 'managedidentity' (or absent)",
    ]);
  });

  it('asks for POLL_QUEUE when the storage given has no queue endpoint', () => {
    // Act
    const tableOnly = problemsOf(() =>
      loadConfig({
        ...vault,
        AzureWebJobsStorage: 'TableEndpoint=http://127.0.0.1:10002/acct',
      }),
    );
    const statusOnly = problemsOf(() =>
      loadConfig({
        ...vault,
        STATUS_STORAGE__tableServiceUri: 'https://stother.table.core.windows.net',
      }),
    );
    const clientIdOnly = problemsOf(() =>
      loadConfig({
        ...vault,
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        POLL_QUEUE__clientId: 'abc',
      }),
    );

    // Assess
    expect(tableOnly).toEqual([
      'POLL_QUEUE: required, AzureWebJobsStorage has no queue endpoint (QueueEndpoint=)',
    ]);
    expect(statusOnly).toEqual([expect.stringMatching(/^POLL_QUEUE: required/)]);
    expect(clientIdOnly).toEqual([expect.stringMatching(/^POLL_QUEUE__queueServiceUri: required/)]);
  });
});
