/**
 * The local host (`npm start`) on a small function table of its own: timers on long and short schedules (on
 * Node's timers faked, whose overflow they imitate, and once in real time), and the answers it gives itself.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FunctionDefinition } from '../../functions/registry';
import { startLocalHost, type LocalHost } from '../../dev/host';

const hosts: LocalHost[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const host of hosts.splice(0)) await host.stop();
});

/** A timer row whose runs are recorded with the wall-clock time they started at. */
function recordedTimer(name: string, schedule: string): { row: FunctionDefinition; runs: number[] } {
  const runs: number[] = [];
  return {
    runs,
    row: {
      name,
      trigger: 'timer',
      schedule,
      handler: () => {
        runs.push(Date.now());
      },
    },
  };
}

async function host(
  functions: FunctionDefinition[],
  options: { runTimers?: boolean; maxBodyBytes?: number } = {},
): Promise<LocalHost> {
  const started = await startLocalHost({ functions, appSettings: {}, ...options });
  hosts.push(started);
  return started;
}

/** Node's timers on a virtual clock (fake-timers fires a delay over 2^31-1 ms after 1 ms, as Node does). */
function fakeTimersAt(iso: string): void {
  vi.useFakeTimers({ now: new Date(iso), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
}

describe('local host timers', () => {
  it('waits for a run more than 24.8 days away without firing, then runs once at its time', async () => {
    // Prepare: on 29 November, the next 1 January midnight is 33 days away.
    fakeTimersAt('2026-11-29T12:00:00.000Z');
    const yearly = recordedTimer('yearly', '0 0 0 1 1 *');
    await host([yearly.row], { runTimers: true });

    // Act
    await vi.advanceTimersByTimeAsync(10_000);
    const afterTenSeconds = yearly.runs.length;
    await vi.advanceTimersByTimeAsync(Date.parse('2026-12-31T23:59:59.999Z') - Date.now());
    const justBefore = yearly.runs.length;
    await vi.advanceTimersByTimeAsync(1);

    // Assess
    expect(afterTenSeconds).toBe(0);
    expect(justBefore).toBe(0);
    expect(yearly.runs.map((t) => new Date(t).toISOString())).toEqual(['2027-01-01T00:00:00.000Z']);
    expect(vi.getTimerCount()).toBe(1); // armed for the next year, not spinning
  });

  it('runs an occurrence once, at its time, when the timer fires a few ms early by the wall clock', async () => {
    // Prepare: the wall clock steps back 5 ms while the host waits (NTP slew, or a timer that fires early).
    fakeTimersAt('2026-11-29T12:00:00.500Z');
    const everySecond = recordedTimer('everySecond', '* * * * * *');
    await host([everySecond.row], { runTimers: true });
    await vi.advanceTimersByTimeAsync(100);
    vi.setSystemTime(Date.now() - 5);

    // Act
    await vi.advanceTimersByTimeAsync(400); // the timer fires at 12:00:00.995 by the wall clock
    const early = everySecond.runs.length;
    await vi.advanceTimersByTimeAsync(300);

    // Assess
    expect(early).toBe(0);
    expect(everySecond.runs.map((t) => new Date(t).toISOString())).toEqual(['2026-11-29T12:00:01.000Z']);
  });

  it('in real time, fires a per-second schedule on each second and never a run two months away', async () => {
    // Prepare: a yearly schedule about 60 days from today, whatever today is.
    const far = new Date(Date.now() + 60 * 86_400_000);
    const yearly = recordedTimer(
      'yearly',
      `0 0 0 ${Math.min(far.getUTCDate(), 28)} ${far.getUTCMonth() + 1} *`,
    );
    const everySecond = recordedTimer('everySecond', '* * * * * *');
    const startedAt = Date.now();
    await host([yearly.row, everySecond.row], { runTimers: true });

    // Act
    await new Promise((resolve) => setTimeout(resolve, 2_600));

    // Assess
    expect(yearly.runs).toEqual([]);
    const seconds = everySecond.runs.map((t) => Math.floor(t / 1000));
    expect(seconds.length).toBeGreaterThanOrEqual(2);
    expect(new Set(seconds).size).toBe(seconds.length); // one run per second, never two
    for (const t of everySecond.runs) expect(t).toBeGreaterThan(startedAt);
  });
});

describe('local host answers of its own', () => {
  const getRow: FunctionDefinition = {
    name: 'thing',
    trigger: 'http',
    route: 'things/{id}',
    methods: ['GET', 'HEAD', 'DELETE'],
    authLevel: 'anonymous',
    handler: (request) =>
      Promise.resolve({
        status: 200,
        headers: { etag: '"v1"', 'content-type': 'application/json; charset=utf-8' },
        jsonBody: { id: request.params.id },
      }),
  };
  const postRow: FunctionDefinition = {
    name: 'makeThing',
    trigger: 'http',
    route: 'things',
    methods: ['POST'],
    authLevel: 'anonymous',
    handler: async (request) => ({
      status: 201,
      jsonBody: { length: (await request.text()).length },
    }),
  };
  const throwingRow: FunctionDefinition = {
    name: 'broken',
    trigger: 'http',
    route: 'broken',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: () => Promise.reject(new Error('secret detail of the failure')),
  };
  const timerRow = recordedTimer('tick', '0 0 0 1 1 *').row;

  async function call(
    url: string,
    init?: RequestInit,
  ): Promise<{ status: number; headers: Headers; text: string; body: unknown }> {
    const response = await fetch(url, init);
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: text ? JSON.parse(text) : undefined,
    };
  }

  it.each([
    ['an unknown route under /api', 'GET', '/api/nothing/here', 404, 'NotFound'],
    ['a path outside /api', 'GET', '/', 404, 'NotFound'],
    ['a method the route does not answer', 'PUT', '/api/things/a', 405, 'InvalidArgument'],
    ['an unknown function on the admin endpoint', 'POST', '/admin/functions/nope', 404, 'NotFound'],
    ['an HTTP function on the admin endpoint', 'POST', '/admin/functions/thing', 400, 'InvalidArgument'],
    ['a GET on the admin endpoint', 'GET', '/admin/functions/tick', 405, 'InvalidArgument'],
    ['a handler that throws', 'GET', '/api/broken', 500, 'InternalError'],
  ])('answers %s in the error shape', async (_, method, path, status, code) => {
    // Prepare
    const local = await host([getRow, postRow, throwingRow, timerRow]);

    // Act
    const response = await call(`${local.url}${path}`, {
      method,
      ...(method === 'POST' || method === 'PUT' ? { body: '{}' } : {}),
    });

    // Assess
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const { error } = response.body as { error: { code: string; message: unknown } };
    expect(error.code).toBe(code);
    expect(typeof error.message).toBe('string');
    expect(response.text).not.toContain('secret detail');
  });

  it('names the methods a route answers in Allow on a 405', async () => {
    // Prepare
    const local = await host([getRow, postRow, timerRow]);

    // Act
    const route = await call(`${local.url}/api/things/a`, { method: 'POST', body: '{}' });
    const admin = await call(`${local.url}/admin/functions/tick`, { method: 'DELETE' });

    // Assess
    expect(route.status).toBe(405);
    expect(route.headers.get('allow')).toBe('GET, HEAD, DELETE');
    expect(admin.status).toBe(405);
    expect(admin.headers.get('allow')).toBe('POST');
  });

  it('refuses a body over the cap with 413 in the error shape, on a route and on the admin endpoint', async () => {
    // Prepare
    const local = await host([postRow, timerRow], { maxBodyBytes: 1024 });

    // Act
    const route = await call(`${local.url}/api/things`, { method: 'POST', body: 'x'.repeat(4096) });
    const admin = await call(`${local.url}/admin/functions/tick`, { method: 'POST', body: 'x'.repeat(4096) });
    const fits = await call(`${local.url}/api/things`, { method: 'POST', body: 'x'.repeat(1024) });

    // Assess
    expect(route.status).toBe(413);
    expect(route.body).toMatchObject({ error: { code: 'InvalidArgument', target: 'body' } });
    expect(admin.status).toBe(413);
    expect(admin.body).toMatchObject({ error: { code: 'InvalidArgument', target: 'body' } });
    expect(fits).toMatchObject({ status: 201, body: { length: 1024 } });
  });

  it('answers HEAD with the status and headers of the GET, Content-Length included, and no body', async () => {
    // Prepare
    const local = await host([getRow]);

    // Act
    const get = await call(`${local.url}/api/things/abc`);
    const head = await call(`${local.url}/api/things/abc`, { method: 'HEAD' });
    const missing = await call(`${local.url}/api/nothing`, { method: 'HEAD' });

    // Assess
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers.get('etag')).toBe('"v1"');
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(get.text)));
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('');
  });
});
