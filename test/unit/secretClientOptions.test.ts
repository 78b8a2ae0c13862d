import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors';
import { secretClientOptionsFor } from '../../shared/vaultClient';
import { isLoopbackHost } from '../../shared/upstream/allowList';
import { retryAfterFromHeaders } from '../../shared/upstream/retryAfter';

describe('secretClientOptionsFor', () => {
  it('keeps the SDK checks on for a real vault URL', () => {
    // Prepare
    const vaultUrl = 'https://contoso-kv.vault.azure.net/';

    // Act
    const options = secretClientOptionsFor(vaultUrl);

    // Assess
    expect(options.disableChallengeResourceVerification).toBeUndefined();
    expect(options.allowInsecureConnection).toBeUndefined();
    expect(options.tlsOptions).toBeUndefined();
    expect(options.proxyOptions).toBeUndefined();
    expect(options.retryOptions?.maxRetries).toBe(1);
  });

  it.each([
    ['http://127.0.0.1:8443', true],
    ['http://localhost:8443', true],
    ['http://[::1]:8443', true],
    ['https://localhost:8443', false],
  ])('turns off the challenge resource check for the loopback vault %s', (vaultUrl, insecure) => {
    // Prepare
    const url = vaultUrl;

    // Act
    const options = secretClientOptionsFor(url);

    // Assess
    expect(options.disableChallengeResourceVerification).toBe(true);
    expect(options.allowInsecureConnection === true).toBe(insecure);
  });

  it.each([
    'http://contoso-kv.vault.azure.net',
    'http://127.0.0.1.nip.io',
    'https://user:pw@contoso-kv.vault.azure.net',
  ])('refuses %s', (vaultUrl) => {
    // Prepare
    const build = (): unknown => secretClientOptionsFor(vaultUrl);

    // Act + Assess
    expect(build).toThrow(ConfigError);
  });

  it('trusts an extra CA on top of the bundled roots', () => {
    // Prepare
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

    // Act
    const options = secretClientOptionsFor('https://localhost:8443', ca);

    // Assess
    const cas = options.tlsOptions?.ca;
    expect(Array.isArray(cas) && cas.length > 1 && cas[cas.length - 1] === ca).toBe(true);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.10.20.30', true],
    ['[::1]', true],
    ['127.0.0.1.nip.io', false],
    ['localhost.contoso.com', false],
    ['10.0.0.1', false],
  ])('classifies %s as loopback: %s', (host, expected) => {
    // Prepare
    const hostname = host;

    // Act
    const loopback = isLoopbackHost(hostname);

    // Assess
    expect(loopback).toBe(expected);
  });
});

describe('retryAfterFromHeaders (Key Vault answers)', () => {
  it.each([
    [{ 'retry-after': '30' }, 30_000],
    [{ 'retry-after-ms': '1500', 'retry-after': '30' }, 1_500],
    [{ 'x-ms-retry-after-ms': '250' }, 250],
    [{ 'retry-after': 'Wed, 01 Jan 2025 00:01:00 GMT' }, 60_000],
    [{ 'retry-after': 'soon' }, undefined],
    [{}, undefined],
  ])('reads %o as %s ms', (headers: Record<string, string>, expected) => {
    // Prepare
    const now = Date.parse('2025-01-01T00:00:00Z');

    // Act
    const ms = retryAfterFromHeaders((name) => headers[name], new Date(now));

    // Assess
    expect(ms).toBe(expected);
  });
});
