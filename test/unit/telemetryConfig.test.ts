import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config';
import { ConfigError } from '../../shared/errors';

const minimal = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  KEY_VAULT_URL: 'https://contoso.vault.azure.net',
};
const IKEY = '8c1a3f52-6d0e-4b7a-9f21-3e5d7c9a0b14';
const CONNECTION = `InstrumentationKey=${IKEY};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/`;

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

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
    const problems = problemsOf({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      KEY_VAULT_URL: 'not a url',
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'secret-looking-garbage',
    });

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
    const problems = problemsOf({ ...minimal, ...settings });

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });
});
