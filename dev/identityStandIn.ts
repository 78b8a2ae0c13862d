import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local App Service style managed identity endpoint (what `IDENTITY_ENDPOINT` / `IDENTITY_HEADER` point at in
 * App Service and Functions), as the real `ManagedIdentityCredential` (MSAL's AppService source) calls it:
 * `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://vault.azure.net[&client_id=…]` with the header
 * `X-IDENTITY-HEADER: {IDENTITY_HEADER}`.
 *
 * Note: the identity library keeps the identity source (endpoint, header) and its tokens process-wide. Start one
 * endpoint per process and keep it for the process's life; set the variables before the first credential is made.
 */
export interface IdentityEndpoint {
  /** The `IDENTITY_ENDPOINT` value. */
  readonly endpoint: string;
  /** The `IDENTITY_HEADER` value. */
  readonly header: string;
  /** The tenant the tokens are for (the vault stand-in names it in its challenge). */
  readonly tenantId: string;
  /** Token requests answered (successfully or not). */
  readonly requests: number;
  /** The client ids asked for, in order (`undefined` = system-assigned). */
  readonly clientIds: readonly (string | undefined)[];
  /** Whether a bearer token was issued by this endpoint, is not expired and (when given) is for `resource`. */
  isValidToken(token: string, resource?: string): boolean;
  stop(): Promise<void>;
}

export interface IdentityEndpointOptions {
  port?: number;
  tenantId?: string;
  /** Token lifetime in seconds (default 1 h). */
  tokenLifetimeSeconds?: number;
}

const API_VERSION = '2019-08-01';
const SYSTEM_ASSIGNED_CLIENT_ID = '00000000-0000-4000-8000-000000000001';

interface IssuedToken {
  resource: string;
  clientId: string;
  expiresOnSeconds: number;
}

export async function startIdentityEndpoint(
  options: IdentityEndpointOptions = {},
): Promise<IdentityEndpoint> {
  const tenantId = options.tenantId ?? '00000000-0000-4000-8000-00000000000a';
  const lifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
  const header = crypto.randomBytes(24).toString('hex');
  const tokens = new Map<string, IssuedToken>();
  const clientIds: (string | undefined)[] = [];
  let requests = 0;

  const server = http.createServer((req, res) => {
    requests += 1;
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/msi/token') {
      send(404, { statusCode: 404, message: 'Not found' });
      return;
    }
    const given = req.headers['x-identity-header'];
    if (given === undefined) {
      send(400, { statusCode: 400, message: 'The X-IDENTITY-HEADER header is missing.' });
      return;
    }
    if (given !== header) {
      send(401, { statusCode: 401, message: 'The X-IDENTITY-HEADER header is not valid.' });
      return;
    }
    if (url.searchParams.get('api-version') !== API_VERSION) {
      send(400, { statusCode: 400, message: `api-version must be ${API_VERSION}.` });
      return;
    }
    const resource = url.searchParams.get('resource');
    if (resource === null || resource === '') {
      send(400, { statusCode: 400, message: 'The resource parameter is missing.' });
      return;
    }
    const requestedClientId = url.searchParams.get('client_id') ?? undefined;
    clientIds.push(requestedClientId);
    const clientId = requestedClientId ?? SYSTEM_ASSIGNED_CLIENT_ID;
    const accessToken = crypto.randomBytes(32).toString('base64url');
    const expiresOnSeconds = Math.floor(Date.now() / 1000) + lifetimeSeconds;
    tokens.set(accessToken, { resource, clientId, expiresOnSeconds });
    send(200, {
      access_token: accessToken,
      expires_on: String(expiresOnSeconds),
      resource,
      token_type: 'Bearer',
      client_id: clientId,
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}/msi/token`,
    header,
    tenantId,
    get requests() {
      return requests;
    },
    clientIds,
    isValidToken(token: string, resource?: string): boolean {
      const issued = tokens.get(token);
      if (issued === undefined) return false;
      if (issued.expiresOnSeconds * 1000 <= Date.now()) return false;
      return resource === undefined || issued.resource.replace(/\/+$/, '') === resource.replace(/\/+$/, '');
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
