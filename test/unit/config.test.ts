import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config';
import { ConfigError } from '../../shared/errors';

const minimal = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  KEY_VAULT_URL: 'https://contoso.vault.azure.net',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

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
    const problems = problemsOf({
      KEY_VAULT_URL: 'http://contoso.vault.azure.net',
      POLL_SCHEDULE: '0 */1 * * *',
      ALLOWED_UPSTREAM_HOSTS: 'http://sim.example.com',
      UPSTREAM_RATE_LIMITS: 'myface.cognitiveservices.azure.com=lots',
      SECRET_CACHE_TTL_SECONDS: 'five',
    });

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
    const problems = problemsOf({ ...minimal, AzureWebJobsStorage: 'not-a-connection-string-SECRETVALUE' });

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
});
