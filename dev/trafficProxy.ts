import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the proxy does with one request: pass it on, answer it itself, drop the connection, or pass it on and drop
 * the connection once the service has answered (the request took effect; its answer is lost).
 */
export type ProxyAction = 'forward' | { status: number; body?: string } | 'reset' | 'forwardThenReset';

export interface TrafficProxy {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Requests seen, in order (method and path with query, and the status answered once it is known). */
  readonly requests: ReadonlyArray<{ method: string; path: string; status?: number }>;
  resetCount(): void;
  /** Decides, per request, whether to forward it or inject a fault (default: forward everything). */
  setFaults(decide: ((request: { method: string; path: string }) => ProxyAction) | undefined): void;
  stop(): Promise<void>;
}

/**
 * A small HTTP proxy in front of a local service (Azurite, a vault): counts every request and can inject
 * faults, so tests and benchmarks measure what really crosses the wire.
 */
export async function startTrafficProxy(target: string): Promise<TrafficProxy> {
  const targetUrl = new URL(target);
  const requests: { method: string; path: string; status?: number }[] = [];
  let decide: ((request: { method: string; path: string }) => ProxyAction) | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer((req, res) => {
    const entry: { method: string; path: string; status?: number } = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
    };
    requests.push(entry);
    const action = decide?.(entry) ?? 'forward';
    if (action === 'reset') {
      req.socket.destroy();
      return;
    }
    if (action !== 'forward' && action !== 'forwardThenReset') {
      req.resume();
      entry.status = action.status;
      res.writeHead(action.status, { 'content-type': 'application/json' });
      res.end(action.body ?? '');
      return;
    }
    const upstream = http.request(
      {
        host: targetUrl.hostname,
        port: targetUrl.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: targetUrl.host },
        agent,
      },
      (upstreamRes) => {
        entry.status = upstreamRes.statusCode ?? 502;
        if (action === 'forwardThenReset') {
          upstreamRes.resume();
          req.socket.destroy();
          return;
        }
        res.writeHead(entry.status, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstream.on('error', () => {
      entry.status ??= 502;
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    resetCount: () => {
      requests.length = 0;
    },
    setFaults: (fn) => {
      decide = fn;
    },
    stop: async () => {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
