/**
 * The real SecretClient + ManagedIdentityCredential against the local stand-ins (Key Vault over https with a
 * self-signed certificate and over plain http on loopback; an App Service style identity endpoint).
 *
 * The identity library keeps the identity source and its tokens process-wide, so one identity endpoint serves the
 * whole file, and IDENTITY_ENDPOINT / IDENTITY_HEADER are set before the first credential is made.
 */
import net from 'node:net';
import util from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSelfSignedCert } from '../../dev/certs';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../dev/identityStandIn';
import { startKeyVault, type KeyVaultStandIn } from '../../dev/keyVaultStandIn';
import type { Clock } from '../../shared/clock';
import { ConfigError, SecretUnavailableError } from '../../shared/errors';
import { KeyClient } from '../../shared/secrets';
import { createSecretClient, type CreateSecretClientOptions } from '../../shared/vaultClient';

const SECRET_VALUE = 'face-key-3f9a1c0e77b24d5e-do-not-print';
const VAULT_RESOURCE = 'https://vault.azure.net';

class FakeClock implements Clock {
  constructor(private ms = Date.parse('2025-01-01T00:00:00Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
  sleep(): Promise<void> {
    return Promise.resolve();
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e: unknown) {
    return e;
  }
  throw new Error('expected a rejection');
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let identity: IdentityEndpoint;
let cert: { cert: string; key: string };
const savedEnv = {
  IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT,
  IDENTITY_HEADER: process.env.IDENTITY_HEADER,
};

beforeAll(async () => {
  identity = await startIdentityEndpoint();
  process.env.IDENTITY_ENDPOINT = identity.endpoint;
  process.env.IDENTITY_HEADER = identity.header;
  cert = await createSelfSignedCert(['localhost', '127.0.0.1', '::1']);
});

afterAll(async () => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await identity.stop();
});

describe('Key Vault over https (self-signed certificate) with a managed identity', () => {
  let vault: KeyVaultStandIn;
  let clock: FakeClock;

  function keyClient(options: Partial<CreateSecretClientOptions> = {}, ttlMs = 300_000): KeyClient {
    const client = createSecretClient({
      vaultUrl: vault.url,
      useManagedIdentity: true,
      tlsCa: cert.cert,
      ...options,
    });
    return new KeyClient(client, { ttlMs, clock, readTimeoutMs: 2_000 });
  }

  beforeEach(async () => {
    clock = new FakeClock();
    vault = await startKeyVault({
      tls: cert,
      secrets: { 'face-key': SECRET_VALUE },
      validateToken: (token) => identity.isValidToken(token, VAULT_RESOURCE),
      tenantId: identity.tenantId,
    });
  });

  afterEach(async () => {
    await vault.stop();
  });

  it('reads a secret with a token from the identity endpoint', async () => {
    // Prepare
    const keys = keyClient();

    // Act
    const value = await keys.getKey('face-key');

    // Assess
    expect(vault.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(value).toBe(SECRET_VALUE);
    expect(vault.reads.get('face-key')).toBe(1);
    expect(identity.requests).toBeGreaterThanOrEqual(1);
  });

  it('reads a secret from a vault named localhost', async () => {
    // Prepare
    const localVault = await startKeyVault({
      tls: cert,
      host: 'localhost',
      secrets: { 'face-key': 'local' },
      validateToken: (token) => identity.isValidToken(token, VAULT_RESOURCE),
    });
    const client = createSecretClient({
      vaultUrl: localVault.url,
      useManagedIdentity: true,
      tlsCa: cert.cert,
    });
    const keys = new KeyClient(client, { ttlMs: 60_000, clock });

    // Act
    const value = await keys.getKey('face-key').finally(() => localVault.stop());

    // Assess
    expect(localVault.url).toMatch(/^https:\/\/localhost:\d+$/);
    expect(value).toBe('local');
  });

  it('refuses a vault whose certificate is not trusted', async () => {
    // Prepare
    const client = createSecretClient({ vaultUrl: vault.url, useManagedIdentity: true });
    const keys = new KeyClient(client, { ttlMs: 60_000, clock });

    // Act
    const error = await caught(keys.getKey('face-key'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect(vault.reads.get('face-key') ?? 0).toBe(0);
  });

  it('serves 50 concurrent callers from one vault read', async () => {
    // Prepare
    const keys = keyClient();

    // Act
    const values = await Promise.all(Array.from({ length: 50 }, () => keys.getKey('face-key')));

    // Assess
    expect(new Set(values)).toEqual(new Set([SECRET_VALUE]));
    expect(vault.reads.get('face-key')).toBe(1);
  });

  it('serves the cached key within the TTL and reads the rotated one after it', async () => {
    // Prepare
    const keys = keyClient({}, 60_000);
    await keys.getKey('face-key');
    vault.setSecret('face-key', 'rotated-value');

    // Act
    clock.advance(59_000);
    const withinTtl = await keys.getKey('face-key');
    clock.advance(1_000);
    const afterTtl = await keys.getKey('face-key');

    // Assess
    expect(withinTtl).toBe(SECRET_VALUE);
    expect(afterTtl).toBe('rotated-value');
    expect(vault.reads.get('face-key')).toBe(2);
  });

  it('reads the rotated key once when callers bypass the cache after an upstream 401', async () => {
    // Prepare
    const keys = keyClient();
    await keys.getKey('face-key');
    vault.setSecret('face-key', 'rotated-value');

    // Act
    const values = await Promise.all(
      Array.from({ length: 10 }, () => keys.getKey('face-key', { bypassCache: true })),
    );
    const afterwards = await keys.getKey('face-key');

    // Assess
    expect(new Set(values)).toEqual(new Set(['rotated-value']));
    expect(afterwards).toBe('rotated-value');
    expect(vault.reads.get('face-key')).toBe(2);
  });

  it('reports a missing secret as SecretUnavailableError with status 404', async () => {
    // Prepare
    const keys = keyClient();

    // Act
    const error = await caught(keys.getKey('no-such-key'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    const e = error as SecretUnavailableError;
    expect(e.secretName).toBe('no-such-key');
    expect(e.options.httpStatus).toBe(404);
    expect(e.message).toContain('"no-such-key"');
    expect(e.message).toContain('SecretNotFound');
  });

  it('reports a forbidden read as SecretUnavailableError with status 403', async () => {
    // Prepare
    const keys = keyClient();
    vault.injectFault({ status: 403 });

    // Act
    const error = await caught(keys.getKey('face-key'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as SecretUnavailableError).options.httpStatus).toBe(403);
    expect(vault.reads.get('face-key')).toBe(1);
  });

  it('gives up at once on a 429 with a long Retry-After, keeps it, and does not call the vault again', async () => {
    // Prepare
    const keys = keyClient();
    vault.injectFault({ status: 429, headers: { 'retry-after': '30' } });
    const started = Date.now();

    // Act
    const first = await caught(keys.getKey('face-key'));
    const elapsedMs = Date.now() - started;
    clock.advance(10_000);
    const second = await caught(keys.getKey('face-key'));

    // Assess
    expect(first).toBeInstanceOf(SecretUnavailableError);
    expect((first as SecretUnavailableError).options).toMatchObject({
      httpStatus: 429,
      retryAfterMs: 30_000,
    });
    expect(elapsedMs).toBeLessThan(3_000);
    expect(second).toBeInstanceOf(SecretUnavailableError);
    expect((second as SecretUnavailableError).options.retryAfterMs).toBe(20_000);
    expect(vault.reads.get('face-key')).toBe(1);
  });

  it('retries a short Retry-After once, then reports the 429', async () => {
    // Prepare
    const keys = keyClient();
    vault.injectFault({ status: 429, headers: { 'retry-after': '1' } });

    // Act
    const error = await caught(keys.getKey('face-key'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as SecretUnavailableError).options).toMatchObject({ httpStatus: 429, retryAfterMs: 1_000 });
    expect(vault.reads.get('face-key')).toBe(2);
  });

  it('recovers from one 503 through the SDK retry', async () => {
    // Prepare
    const keys = keyClient();
    vault.injectFault({ status: 503, times: 1 });

    // Act
    const value = await keys.getKey('face-key');

    // Assess
    expect(value).toBe(SECRET_VALUE);
    expect(vault.reads.get('face-key')).toBe(2);
  });

  it('reports a vault that does not answer as SecretUnavailableError after the read timeout', async () => {
    // Prepare
    const keys = keyClient();
    vault.injectFault({ hang: true });
    const started = Date.now();

    // Act
    const error = await caught(keys.getKey('face-key'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).toMatch(/did not answer within 2000 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports an unreachable vault as SecretUnavailableError quickly', async () => {
    // Prepare
    const port = await closedPort();
    const client = createSecretClient({ vaultUrl: `https://127.0.0.1:${port}`, useManagedIdentity: true });
    const keys = new KeyClient(client, { ttlMs: 60_000, clock });
    const started = Date.now();

    // Act
    const error = await caught(keys.getKey('face-key'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).toMatch(/could not be reached/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('never puts the secret value into the error of a failed re-read', async () => {
    // Prepare
    const keys = keyClient({}, 1_000);
    await keys.getKey('face-key');
    clock.advance(1_000);
    vault.injectFault({ status: 403 });

    // Act
    const error = await caught(keys.getKey('face-key'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).not.toContain(SECRET_VALUE);
    expect(util.inspect(error, { depth: 6 })).not.toContain(SECRET_VALUE);
  });

  it('asks the identity endpoint for the user-assigned identity given by its client id', async () => {
    // Prepare
    const clientId = '11111111-2222-4333-8444-555555555555';
    const keys = keyClient({ managedIdentityClientId: clientId });

    // Act
    const value = await keys.getKey('face-key');

    // Assess
    expect(value).toBe(SECRET_VALUE);
    expect(identity.clientIds).toContain(clientId);
  });
});

describe('Key Vault over plain http on loopback', () => {
  let vault: KeyVaultStandIn;

  beforeEach(async () => {
    vault = await startKeyVault({ validateToken: (token) => identity.isValidToken(token, VAULT_RESOURCE) });
  });

  afterEach(async () => {
    await vault.stop();
  });

  it('stores a secret with the SDK and reads it back through the key cache', async () => {
    // Prepare
    const client = createSecretClient({ vaultUrl: vault.url, useManagedIdentity: true });
    const keys = new KeyClient(client, { ttlMs: 60_000, clock: new FakeClock() });

    // Act
    await client.setSecret('language-key', SECRET_VALUE);
    const value = await keys.getKey('language-key');

    // Assess
    expect(vault.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(value).toBe(SECRET_VALUE);
    expect(vault.reads.get('language-key')).toBe(1);
  });

  it('answers an unauthenticated request with the Key Vault bearer challenge', async () => {
    // Prepare
    const url = `${vault.url}/secrets/any/?api-version=2025-07-01`;

    // Act
    const response = await fetch(url);

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(
      /^Bearer authorization="https:\/\/login\.microsoftonline\.com\/[^"]+", resource="https:\/\/vault\.azure\.net"$/,
    );
  });
});

describe('createSecretClient', () => {
  it.each(['http://myvault.vault.azure.net', 'http://10.0.0.5:8080', 'ftp://127.0.0.1', 'not a url'])(
    'refuses the vault URL %s',
    (vaultUrl) => {
      // Prepare
      const create = (): unknown => createSecretClient({ vaultUrl, useManagedIdentity: true });

      // Act
      const error = (() => {
        try {
          create();
        } catch (e: unknown) {
          return e;
        }
        return undefined;
      })();

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
    },
  );
});

describe('identity endpoint stand-in', () => {
  it('refuses a token request with a wrong X-IDENTITY-HEADER', async () => {
    // Prepare
    const url = `${identity.endpoint}?api-version=2019-08-01&resource=${encodeURIComponent(VAULT_RESOURCE)}`;

    // Act
    const wrong = await fetch(url, { headers: { 'X-IDENTITY-HEADER': 'wrong' } });
    const missing = await fetch(url);

    // Assess
    expect(wrong.status).toBe(401);
    expect(missing.status).toBe(400);
  });
});
