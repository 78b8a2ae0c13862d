import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { SECRET_NAME_PATTERN } from '../shared/model';

/**
 * A local Key Vault stand-in that the real `SecretClient` talks to (secrets only): the bearer challenge
 * (401 + `WWW-Authenticate`), `GET /secrets/{name}[/{version}]`, `PUT /secrets/{name}`, Key Vault error bodies,
 * and injectable faults (403, 429 + Retry-After, 5xx, a hanging answer).
 *
 * A loopback vault never passes the SDK's challenge resource check: its client needs
 * `disableChallengeResourceVerification` (see `createSecretClient`).
 */
export type VaultFault =
  | { status: 403 | 429 | 500 | 503; headers?: Record<string, string>; times?: number }
  | { hang: true; times?: number };

export interface KeyVaultStandIn {
  /** The vault URL (`KEY_VAULT_URL`), without a trailing slash. */
  readonly url: string;
  /** Authenticated secret reads (GET) that reached the vault, per secret name, whatever their answer. */
  readonly reads: Map<string, number>;
  /** Every HTTP request, authenticated or not. */
  readonly requests: number;
  /** Adds a new version of a secret; returns the version. */
  setSecret(name: string, value: string): string;
  /** Removes a secret with all its versions. */
  deleteSecret(name: string): void;
  /** Answers the next authenticated requests (`times`, default: until cleared) with the fault. */
  injectFault(fault: VaultFault): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

export interface KeyVaultStandInOptions {
  secrets?: Record<string, string>;
  /** Serve https with this certificate (http when absent). */
  tls?: { cert: string; key: string };
  /** Checks a bearer token (e.g. the identity stand-in's `isValidToken`); any non-empty token when absent. */
  validateToken?: (token: string) => boolean;
  port?: number;
  /** Host to listen on and to put in `url` (default 127.0.0.1). */
  host?: string;
  /** Tenant named in the challenge (default a fixed test tenant). */
  tenantId?: string;
}

const RESOURCE = 'https://vault.azure.net';

interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  createdSeconds: number;
}

interface ActiveFault {
  fault: VaultFault;
  remaining: number;
}

export async function startKeyVault(options: KeyVaultStandInOptions = {}): Promise<KeyVaultStandIn> {
  const host = options.host ?? '127.0.0.1';
  const tenantId = options.tenantId ?? '00000000-0000-4000-8000-00000000000a';
  const versions = new Map<string, SecretVersion[]>();
  const reads = new Map<string, number>();
  const faults: ActiveFault[] = [];
  const hanging = new Set<http.ServerResponse>();
  let requests = 0;
  let url = '';

  const setSecret = (name: string, value: string, extra: Partial<SecretVersion> = {}): SecretVersion => {
    if (!SECRET_NAME_PATTERN.test(name)) throw new Error(`Invalid secret name: ${name}`);
    const entry: SecretVersion = {
      ...extra,
      version: crypto.randomBytes(16).toString('hex'),
      value,
      createdSeconds: Math.floor(Date.now() / 1000),
    };
    versions.set(name, [...(versions.get(name) ?? []), entry]);
    return entry;
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) setSecret(name, value);

  const bundle = (name: string, entry: SecretVersion): Record<string, unknown> => ({
    value: entry.value,
    ...(entry.contentType === undefined ? {} : { contentType: entry.contentType }),
    id: `${url}/secrets/${name}/${entry.version}`,
    attributes: {
      enabled: true,
      created: entry.createdSeconds,
      updated: entry.createdSeconds,
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: 90,
    },
    tags: entry.tags ?? {},
  });

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    requests += 1;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const error = (
      status: number,
      code: string,
      message: string,
      extra: Record<string, unknown> = {},
    ): void => send(status, { error: { code, message, ...extra } });

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const requestUrl = new URL(req.url ?? '/', 'http://vault');
      // The SDK sends `api%2Dversion`; URLSearchParams decodes it.
      const apiVersion = requestUrl.searchParams.get('api-version');

      const authorization = req.headers.authorization ?? '';
      const token = /^Bearer (.+)$/i.exec(authorization)?.[1] ?? '';
      const authenticated =
        token !== '' && (options.validateToken === undefined || options.validateToken(token));
      if (!authenticated) {
        send(
          401,
          {
            error: {
              code: 'Unauthorized',
              message:
                token === ''
                  ? 'AKV10000: Request is missing a Bearer or PoP token.'
                  : 'AKV10032: Invalid issuer or token.',
            },
          },
          {
            'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${RESOURCE}"`,
          },
        );
        return;
      }
      if (apiVersion === null || apiVersion === '') {
        error(400, 'BadParameter', 'The request URI contains an invalid or missing api-version.');
        return;
      }

      const segments = requestUrl.pathname.split('/').filter((s) => s !== '');
      const name = segments[1] !== undefined ? decodeURIComponent(segments[1]) : '';
      const isSecretPath =
        segments[0] === 'secrets' && SECRET_NAME_PATTERN.test(name) && segments.length <= 3;
      if (isSecretPath && req.method === 'GET') reads.set(name, (reads.get(name) ?? 0) + 1);

      const active = faults[0];
      if (active !== undefined) {
        active.remaining -= 1;
        if (active.remaining <= 0) faults.shift();
        if ('hang' in active.fault) {
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        }
        const { status } = active.fault;
        const headers = active.fault.headers ?? {};
        if (status === 403) {
          send(
            403,
            {
              error: {
                code: 'Forbidden',
                message: `Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'`,
                innererror: { code: 'ForbiddenByRbac' },
              },
            },
            headers,
          );
        } else if (status === 429) {
          send(
            429,
            {
              error: {
                code: 'Throttled',
                message: 'Operations per second is over the limit for this vault.',
              },
            },
            { 'retry-after': '1', ...headers },
          );
        } else {
          send(
            status,
            {
              error: {
                code: status === 500 ? 'InternalServerError' : 'ServiceUnavailable',
                message: 'Try again.',
              },
            },
            headers,
          );
        }
        return;
      }

      if (!isSecretPath) {
        error(404, 'NotFound', 'The requested resource was not found.');
        return;
      }
      if (req.method === 'GET') {
        const all = versions.get(name) ?? [];
        const version = segments[2];
        const entry = version === undefined ? all[all.length - 1] : all.find((v) => v.version === version);
        if (entry === undefined) {
          error(
            404,
            'SecretNotFound',
            `A secret with (name/id) ${name}${version === undefined ? '' : `/${version}`} was not found in this key vault. ` +
              'If you recently deleted this secret you may be able to recover it using the correct recovery command. ' +
              'For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182',
          );
          return;
        }
        send(200, bundle(name, entry));
        return;
      }
      if (req.method === 'PUT' && segments.length === 2) {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          error(400, 'BadParameter', 'The request body is not valid JSON.');
          return;
        }
        const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
        if (typeof fields.value !== 'string') {
          error(400, 'BadParameter', 'Property "value" is required.');
          return;
        }
        const extra: Partial<SecretVersion> = {};
        if (typeof fields.contentType === 'string') extra.contentType = fields.contentType;
        if (typeof fields.tags === 'object' && fields.tags !== null) {
          extra.tags = Object.fromEntries(
            Object.entries(fields.tags).filter((e): e is [string, string] => typeof e[1] === 'string'),
          );
        }
        send(200, bundle(name, setSecret(name, fields.value, extra)));
        return;
      }
      error(405, 'BadParameter', `Method ${req.method ?? ''} is not supported here.`);
    });
  };

  const server =
    options.tls === undefined ? http.createServer(handler) : https.createServer(options.tls, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  url = `${options.tls === undefined ? 'http' : 'https'}://${urlHost}:${port}`;

  return {
    url,
    reads,
    get requests() {
      return requests;
    },
    setSecret: (name, value) => setSecret(name, value).version,
    deleteSecret: (name) => {
      versions.delete(name);
    },
    injectFault: (fault) => {
      faults.push({ fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
