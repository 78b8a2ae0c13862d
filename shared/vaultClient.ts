/**
 * The Key Vault client (docs/spec.md §6): the real `SecretClient` with a managed identity (or `DefaultAzureCredential`
 * for local development), its retry kept short so a throttled or failing vault never stalls a poll cycle. Secret
 * values never appear in messages, errors or logs.
 */
import tls from 'node:tls';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { ConfigError } from './errors';
import { isLoopbackHost } from './upstream/allowList';
import { retryAfterFromHeaders } from './upstream/retryAfter';

export interface CreateSecretClientOptions {
  /** `KEY_VAULT_URL`: https, or http only for a loopback stand-in (localhost, 127.x.x.x, [::1]). */
  vaultUrl: string;
  /** true in Azure (`ManagedIdentityCredential`); false for local development against real Azure. */
  useManagedIdentity: boolean;
  /** `AZURE_CLIENT_ID`: selects a user-assigned identity. */
  managedIdentityClientId?: string;
  /**
   * An extra CA (PEM) to trust on top of Node's bundled roots, for a stand-in with a self-signed certificate
   * (tests, local runs). `NODE_EXTRA_CA_CERTS` would do the same but is only read at process start.
   * Ignored by the SDK when an `HTTPS_PROXY` is in use.
   */
  tlsCa?: string;
}

/** The SDK's retry: once, soon. A throttled or failing vault must not stall a poll cycle. */
export const VAULT_MAX_RETRIES = 1;
export const VAULT_RETRY_DELAY_MS = 250;
/** A Retry-After longer than this is not waited for in the pipeline: the read fails at once (and is remembered). */
export const VAULT_MAX_RETRY_AFTER_MS = 1_000;

/** Thrown from inside the pipeline when the vault asks us to wait longer than `VAULT_MAX_RETRY_AFTER_MS`. */
export class VaultThrottledError extends Error {
  constructor(
    readonly statusCode: number,
    readonly retryAfterMs: number,
  ) {
    super(`Key Vault answered ${statusCode} with a retry-after of ${retryAfterMs} ms`);
    // Not 'RestError': the SDK's retry policy rethrows any other error without waiting or retrying.
    this.name = 'VaultThrottledError';
  }
}

type PipelinePolicyOf = NonNullable<SecretClientOptions['additionalPolicies']>[number]['policy'];

/**
 * The `SecretClient` options for a vault URL, after checking it (throws `ConfigError`). Exported for tests:
 * only a loopback vault gets `allowInsecureConnection` (for http) and `disableChallengeResourceVerification`.
 */
export function secretClientOptionsFor(vaultUrl: string, tlsCa?: string): SecretClientOptions {
  let url: URL;
  try {
    url = new URL(vaultUrl);
  } catch {
    throw new ConfigError([`KEY_VAULT_URL is not a valid URL`]);
  }
  const loopback = isLoopbackHost(url.hostname);
  const problems: string[] = [];
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    problems.push('KEY_VAULT_URL must use https:// (plain http:// is allowed only for a loopback vault)');
  }
  if (url.username !== '' || url.password !== '') problems.push('KEY_VAULT_URL must not contain credentials');
  if (url.search !== '' || url.hash !== '') problems.push('KEY_VAULT_URL must not have a query or fragment');
  if (problems.length > 0) throw new ConfigError(problems);

  const options: SecretClientOptions = {
    retryOptions: {
      maxRetries: VAULT_MAX_RETRIES,
      retryDelayInMs: VAULT_RETRY_DELAY_MS,
      maxRetryDelayInMs: 1_000,
    },
    additionalPolicies: [
      { policy: failFastOnLongRetryAfter(VAULT_MAX_RETRY_AFTER_MS), position: 'perRetry' },
    ],
  };
  if (loopback) {
    // A loopback host never ends with `.vault.azure.net`: the SDK would refuse the challenge (dev only).
    options.disableChallengeResourceVerification = true;
    if (url.protocol === 'http:') options.allowInsecureConnection = true;
  }
  if (tlsCa !== undefined) options.tlsOptions = { ca: [...tls.rootCertificates, tlsCa] };
  return options;
}

/** Creates the real `SecretClient` with a managed identity (or `DefaultAzureCredential` for local development). */
export function createSecretClient(options: CreateSecretClientOptions): SecretClient {
  const clientOptions = secretClientOptionsFor(options.vaultUrl, options.tlsCa);
  const tlsOptions = clientOptions.tlsOptions === undefined ? {} : { tlsOptions: clientOptions.tlsOptions };
  const credential: TokenCredential = options.useManagedIdentity
    ? new ManagedIdentityCredential({
        ...(options.managedIdentityClientId === undefined
          ? {}
          : { clientId: options.managedIdentityClientId }),
        retryOptions: { maxRetries: VAULT_MAX_RETRIES },
        ...tlsOptions,
      })
    : new DefaultAzureCredential({
        ...(options.managedIdentityClientId === undefined
          ? {}
          : { managedIdentityClientId: options.managedIdentityClientId }),
        ...tlsOptions,
      });
  return new SecretClient(options.vaultUrl, credential, clientOptions);
}

function failFastOnLongRetryAfter(maxWaitMs: number): PipelinePolicyOf {
  return {
    name: 'failFastOnLongRetryAfter',
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status === 429 || response.status === 503) {
        const retryAfterMs = retryAfterFromHeaders((name) => response.headers.get(name), new Date());
        if (retryAfterMs !== undefined && retryAfterMs > maxWaitMs) {
          throw new VaultThrottledError(response.status, retryAfterMs);
        }
      }
      return response;
    },
  };
}
