import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config';
import { problemsOf } from '../support/problems';

const minimal = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  KEY_VAULT_URL: 'https://contoso.vault.azure.net',
};

describe('loadConfig', () => {
  it('fills every default from docs/spec.md §9 when only the required settings are given', () => {
    // Act
    const config = loadConfig(minimal);

    // Assess
    expect(config).toMatchObject({
      storage: { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' },
      keyVaultUrl: 'https://contoso.vault.azure.net',
      allowedUpstreamOrigins: [],
      secretCacheTtlMs: 300_000,
      upstreamTimeoutMs: 10_000,
      idleIntervalMs: 900_000,
      managedIdentity: { available: false },
    });
    expect(config.rateLimits.size).toBe(0);
  });

  it('lists every problem at once', () => {
    // Act
    const problems = problemsOf(() =>
      loadConfig({
        KEY_VAULT_URL: 'http://contoso.vault.azure.net',
        POLL_SCHEDULE: '0 */1 * * *',
        ALLOWED_UPSTREAM_HOSTS: 'http://sim.example.com',
        UPSTREAM_RATE_LIMITS: 'myface.cognitiveservices.azure.com=lots',
        SECRET_CACHE_TTL_SECONDS: 'five',
      }),
    );

    // Assess
    expect(problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining([
        'SECRET_CACHE_TTL_SECONDS',
        'AzureWebJobsStorage',
        'KEY_VAULT_URL',
        'POLL_SCHEDULE',
        'ALLOWED_UPSTREAM_HOSTS',
        'UPSTREAM_RATE_LIMITS',
      ]),
    );
  });

  it('never echoes a storage connection string that is invalid (it may hold a key)', () => {
    // Act
    const problems = problemsOf(() =>
      loadConfig({ ...minimal, AzureWebJobsStorage: 'not-a-connection-string-SECRETVALUE' }),
    );

    // Assess
    expect(problems.join('\n')).not.toContain('SECRETVALUE');
  });

  it('uses identity-based table access from AzureWebJobsStorage__accountName or STATUS_STORAGE__tableServiceUri', () => {
    // Act
    const byAccount = loadConfig({
      KEY_VAULT_URL: minimal.KEY_VAULT_URL,
      AzureWebJobsStorage__accountName: 'stcache01',
      AZURE_CLIENT_ID: 'abc',
    });
    const byUri = loadConfig({
      ...minimal,
      STATUS_STORAGE__tableServiceUri: 'https://stother.table.core.windows.net/',
      STATUS_STORAGE__clientId: 'def',
      IDENTITY_ENDPOINT: 'http://localhost:4141/msi/token',
    });

    // Assess
    expect(byAccount.storage).toEqual({
      kind: 'identity',
      tableServiceUri: 'https://stcache01.table.core.windows.net',
      clientId: 'abc',
    });
    expect(byUri.storage).toEqual({
      kind: 'identity',
      tableServiceUri: 'https://stother.table.core.windows.net',
      clientId: 'def',
    });
    expect(byUri.managedIdentity.available).toBe(true);
  });

  it('parses per-host budgets and loopback origins', () => {
    // Act
    const config = loadConfig({
      ...minimal,
      ALLOWED_UPSTREAM_HOSTS: 'http://127.0.0.1:7072, https://sim.contoso.com',
      UPSTREAM_RATE_LIMITS: 'MyFace.cognitiveservices.azure.com=600/min,127.0.0.1:7072=5/s',
      KEY_VAULT_URL: 'http://localhost:8200',
    });

    // Assess
    expect(config.allowedUpstreamOrigins).toEqual(['http://127.0.0.1:7072', 'https://sim.contoso.com']);
    expect(config.rateLimits.get('myface.cognitiveservices.azure.com')).toEqual({
      calls: 600,
      periodMs: 60_000,
    });
    expect(config.rateLimits.get('127.0.0.1:7072')).toEqual({ calls: 5, periodMs: 1000 });
    expect(config.keyVaultUrl).toBe('http://localhost:8200');
  });

  it('parses a long-period allowance beside a host budget (a month of 30 days)', () => {
    // Act
    const config = loadConfig({
      ...minimal,
      UPSTREAM_RATE_LIMITS: 'myface.cognitiveservices.azure.com=20/min+3000/month,b.example.com=5/s+1000/day',
    });

    // Assess
    expect(config.rateLimits.get('myface.cognitiveservices.azure.com')).toEqual({
      calls: 20,
      periodMs: 60_000,
      allowance: { calls: 3000, periodMs: 30 * 86_400_000 },
    });
    expect(config.rateLimits.get('b.example.com')).toEqual({
      calls: 5,
      periodMs: 1000,
      allowance: { calls: 1000, periodMs: 86_400_000 },
    });
  });

  it('refuses an allowance that is not over a longer period, or does not parse, listing both', () => {
    // Act
    const attempt = (): unknown =>
      loadConfig({
        ...minimal,
        UPSTREAM_RATE_LIMITS: 'a.example.com=20/h+100/min,b.example.com=20/min+lots',
      });

    // Assess
    expect(attempt).toThrow(/a\.example\.com=20\/h\+100\/min.*longer period/s);
    expect(attempt).toThrow(/b\.example\.com=20\/min\+lots/);
  });
});

const IKEY = '8c1a3f52-6d0e-4b7a-9f21-3e5d7c9a0b14';
const CONNECTION = `InstrumentationKey=${IKEY};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/`;

describe('metric export settings', () => {
  it('exports nothing without APPLICATIONINSIGHTS_CONNECTION_STRING', () => {
    // Act
    const config = loadConfig({ ...minimal, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD' });

    // Assess
    expect(config.telemetry).toBeUndefined();
  });

  it('reads the connection string, Entra ID authentication with the client id, and the export interval', () => {
    // Act
    const config = loadConfig({
      ...minimal,
      APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION,
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING:
        'ClientId=0f9e8d7c-6b5a-4321-8fed-cba987654321;Authorization=AAD',
      OTEL_METRIC_EXPORT_INTERVAL: '15000',
    });

    // Assess
    expect(config.telemetry).toEqual({
      connectionString: CONNECTION,
      ingestionEndpoint: 'https://westeurope-5.in.applicationinsights.azure.com',
      entraId: { clientId: '0f9e8d7c-6b5a-4321-8fed-cba987654321' },
      exportIntervalMs: 15_000,
    });
  });

  it('exports every minute by default, with the key alone (system identity for Authorization=AAD)', () => {
    // Act
    const config = loadConfig({
      ...minimal,
      APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${IKEY}`,
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
    });

    // Assess
    expect(config.telemetry).toMatchObject({
      ingestionEndpoint: 'https://dc.services.visualstudio.com',
      entraId: {},
      exportIntervalMs: 60_000,
    });
  });

  it('lists a bad connection string with the other settings problems, without echoing it', () => {
    // Act
    const problems = problemsOf(() =>
      loadConfig({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        KEY_VAULT_URL: 'not a url',
        APPLICATIONINSIGHTS_CONNECTION_STRING: 'secret-looking-garbage',
      }),
    );

    // Assess
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'KEY_VAULT_URL',
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
    ]);
    expect(problems.join('\n')).not.toContain('secret-looking-garbage');
  });

  it.each([
    [
      'a key that is not a GUID',
      { APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=abc' },
      /InstrumentationKey/,
    ],
    [
      'a plain-http endpoint (the exporter would send to https)',
      {
        APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${IKEY};IngestionEndpoint=http://127.0.0.1:9999`,
      },
      /https/,
    ],
    [
      'an endpoint that is not a URL',
      { APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${IKEY};IngestionEndpoint=westeurope` },
      /not a URL/,
    ],
    [
      'an authentication string other than Authorization=AAD',
      {
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=Key',
      },
      /Authorization=AAD/,
    ],
    [
      'a client id that is not a GUID',
      {
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=me',
      },
      /GUID/,
    ],
    ['an export interval that is not a number', { OTEL_METRIC_EXPORT_INTERVAL: '1m' }, /whole number/],
  ])('refuses %s', (_, settings, message) => {
    // Act
    const problems = problemsOf(() => loadConfig({ ...minimal, ...settings }));

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });
});

describe('notification settings', () => {
  it('derives signing secrets from webhook-signing and allows no extra origin or Event Grid by default', () => {
    // Act
    const config = loadConfig(minimal);

    // Assess
    expect(config.notifications).toEqual({ signingSecretName: 'webhook-signing', allowedWebhookOrigins: [] });
  });

  it('reads the secret name, loopback webhook origins and the Event Grid topic', () => {
    // Act
    const config = loadConfig({
      ...minimal,
      WEBHOOK_SIGNING_SECRET_NAME: 'hooks-key',
      ALLOWED_WEBHOOK_ORIGINS: 'http://127.0.0.1:9000, https://hooks.contoso.com',
      EVENT_GRID_TOPIC_ENDPOINT: 'https://topic.westeurope-1.eventgrid.azure.net/api/events',
    });

    // Assess
    expect(config.notifications).toEqual({
      signingSecretName: 'hooks-key',
      allowedWebhookOrigins: ['http://127.0.0.1:9000', 'https://hooks.contoso.com'],
      eventGridTopicEndpoint: 'https://topic.westeurope-1.eventgrid.azure.net/api/events',
    });
  });

  it('lists a bad secret name, a plain-http public origin and a plain-http topic together', () => {
    // Act
    const problems = problemsOf(() =>
      loadConfig({
        ...minimal,
        WEBHOOK_SIGNING_SECRET_NAME: 'no_underscores',
        ALLOWED_WEBHOOK_ORIGINS: 'http://hooks.contoso.com',
        EVENT_GRID_TOPIC_ENDPOINT: 'http://topic.eventgrid.azure.net/api/events',
      }),
    );

    // Assess
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/WEBHOOK_SIGNING_SECRET_NAME/);
    expect(problems.join('\n')).toMatch(
      /ALLOWED_WEBHOOK_ORIGINS: 'http:\/\/hooks.contoso.com' uses plain http/,
    );
    expect(problems.join('\n')).toMatch(/EVENT_GRID_TOPIC_ENDPOINT: must be https/);
  });
});
