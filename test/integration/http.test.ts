import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamCallError } from '../../shared/errors';
import { fetchUpstream } from '../../shared/upstream/http';

const KEY_HEADERS = { 'Ocp-Apim-Subscription-Key': 'test-key-123' };
const servers: Server[] = [];

async function listen(handler: RequestListener): Promise<{ server: Server; origin: string }> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

afterEach(async () => {
  await Promise.all(
    servers
      .splice(0)
      .filter((s) => s.listening)
      .map(close),
  );
});

async function callError(promise: Promise<unknown>): Promise<UpstreamCallError> {
  try {
    await promise;
  } catch (error: unknown) {
    if (error instanceof UpstreamCallError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('fetchUpstream', () => {
  it('sends one GET with the given headers and returns status, headers and body', async () => {
    // Prepare
    const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders }> = [];
    const { origin } = await listen((req, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json', 'x-ms-request-id': 'r1' });
      res.end('{"status":"running"}');
    });

    // Act
    const response = await fetchUpstream(`${origin}/face/v1.0/persongroups/g/training`, {
      headers: KEY_HEADERS,
      timeoutMs: 5000,
    });

    // Assess
    expect(response.status).toBe(200);
    expect(response.bodyText).toBe('{"status":"running"}');
    expect(response.headers.get('x-ms-request-id')).toBe('r1');
    expect(response.truncated).toBe(false);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'GET',
      url: '/face/v1.0/persongroups/g/training',
      headers: { 'ocp-apim-subscription-key': 'test-key-123' },
    });
  });

  it('returns an error answer as a response, not an exception', async () => {
    const { origin } = await listen((_req, res) => {
      res.writeHead(429, { 'retry-after': '26' });
      res.end('{"error":{"statusCode":429,"message":"Rate limit is exceeded. Try again in 26 seconds."}}');
    });

    const response = await fetchUpstream(`${origin}/x`, { headers: KEY_HEADERS, timeoutMs: 5000 });

    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('26');
    expect(response.bodyText).toContain('Try again in 26 seconds');
  });

  it('returns a redirect as a 302 and never calls the other server', async () => {
    // Prepare
    let otherCalls = 0;
    const other = await listen((_req, res) => {
      otherCalls += 1;
      res.end('{"status":"succeeded"}');
    });
    const { origin } = await listen((_req, res) => {
      res.writeHead(302, { location: `${other.origin}/steal` });
      res.end();
    });

    // Act
    const response = await fetchUpstream(`${origin}/x`, { headers: KEY_HEADERS, timeoutMs: 5000 });

    // Assess
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`${other.origin}/steal`);
    expect(otherCalls).toBe(0);
  });

  it('throws a timeout error when the server does not answer in time', async () => {
    // Prepare
    const { origin } = await listen(() => {
      // never answers
    });
    const started = Date.now();

    // Act
    const error = await callError(fetchUpstream(`${origin}/x`, { headers: KEY_HEADERS, timeoutMs: 200 }));

    // Assess
    expect(error.reason).toBe('timeout');
    expect(error.cause).toBeDefined();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('throws a timeout error when the body stalls after the headers', async () => {
    const { origin } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":');
    });

    const error = await callError(fetchUpstream(`${origin}/x`, { headers: KEY_HEADERS, timeoutMs: 300 }));

    expect(error.reason).toBe('timeout');
  });

  it('caps an oversized body and marks it truncated', async () => {
    // Prepare
    const { origin } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('x'.repeat(1024 * 1024));
    });

    // Act
    const response = await fetchUpstream(`${origin}/x`, {
      headers: KEY_HEADERS,
      timeoutMs: 5000,
      maxBodyBytes: 1000,
    });

    // Assess
    expect(response.bodyText).toBe('x'.repeat(1000));
    expect(response.truncated).toBe(true);
  });

  it('caps a body at 64 KiB by default', async () => {
    const { origin } = await listen((_req, res) => {
      res.end('y'.repeat(200 * 1024));
    });

    const response = await fetchUpstream(`${origin}/x`, { headers: KEY_HEADERS, timeoutMs: 5000 });

    expect(response.bodyText.length).toBe(64 * 1024);
    expect(response.truncated).toBe(true);
  });

  it('does not mark a body that exactly fills the cap as truncated', async () => {
    const { origin } = await listen((_req, res) => {
      res.end('z'.repeat(1000));
    });

    const response = await fetchUpstream(`${origin}/x`, {
      headers: KEY_HEADERS,
      timeoutMs: 5000,
      maxBodyBytes: 1000,
    });

    expect(response.bodyText.length).toBe(1000);
    expect(response.truncated).toBe(false);
  });

  it('throws a connection error when the connection is refused', async () => {
    // Prepare
    const { server, origin } = await listen(() => undefined);
    await close(server);

    // Act
    const error = await callError(fetchUpstream(`${origin}/x`, { headers: KEY_HEADERS, timeoutMs: 5000 }));

    // Assess
    expect(error.reason).toBe('connection');
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.message).not.toContain('test-key-123');
  });

  it('throws an aborted error when the caller cancels', async () => {
    // Prepare
    const { origin } = await listen(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    // Act
    const error = await callError(
      fetchUpstream(`${origin}/x`, {
        headers: KEY_HEADERS,
        timeoutMs: 10_000,
        abortSignal: controller.signal,
      }),
    );

    // Assess
    expect(error.reason).toBe('aborted');
  });

  it('does not call the server when the caller signal is already aborted', async () => {
    // Prepare
    let calls = 0;
    const { origin } = await listen((_req, res) => {
      calls += 1;
      res.end();
    });

    // Act
    const error = await callError(
      fetchUpstream(`${origin}/x`, {
        headers: KEY_HEADERS,
        timeoutMs: 5000,
        abortSignal: AbortSignal.abort(),
      }),
    );

    // Assess
    expect(error.reason).toBe('aborted');
    expect(calls).toBe(0);
  });
});
