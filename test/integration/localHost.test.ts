/**
 * The local host (`npm start`) on a small function table of its own: timers on long and short schedules (on
 * Node's timers faked, whose overflow they imitate, and once in real time), and the answers it gives itself.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FunctionDefinition } from '../../functions/registry';
import { startLocalHost, type LocalHost } from '../../dev/host';
import { rawRequest } from '../support/rawRequest';

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

  it.each([
    ['a plain path with a query', '/api/things/abc?x=1&y=two%20words', 'abc', '?x=1&y=two%20words'],
    ['literal segments in another case', '/API/Things/abc', 'abc', ''],
    ['a percent-encoded parameter', '/api/things/%61b%20c', 'ab c', ''],
    ['dot segments', '/api/other/../things/./abc', 'abc', ''],
    ['a fragment after the query', '/api/things/abc?x=1#frag', 'abc', '?x=1'],
  ])('routes %s as URL parsing reads the target', async (_, target, id, search) => {
    // Prepare
    const echo: FunctionDefinition = {
      name: 'echo',
      trigger: 'http',
      route: 'things/{id}',
      methods: ['GET'],
      authLevel: 'anonymous',
      handler: (request, context) =>
        Promise.resolve({
          jsonBody: {
            id: request.params.id,
            url: request.url,
            query: [...request.query],
            invocationId: context.invocationId,
            trigger: context.options.trigger.type,
          },
        }),
    };
    const local = await host([echo]);

    // Act: the target as written (fetch would normalize it first)
    const answer = await rawRequest(`http://127.0.0.1:${local.port}`, 'GET', target);

    // Assess
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.text) as {
      id: string;
      url: string;
      query: string[][];
      invocationId: string;
    };
    const expected = new URL(target, `http://127.0.0.1:${local.port}`);
    expect(body).toMatchObject({ id, url: expected.href, trigger: 'httpTrigger' });
    expect(expected.search).toBe(search);
    expect(body.query).toEqual([...expected.searchParams]);
    expect(body.invocationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a target that URL parsing reads as another host', async () => {
    // Prepare
    const local = await host([getRow]);

    // Act
    const { status } = await rawRequest(`http://127.0.0.1:${local.port}`, 'GET', '//api/things/abc');

    // Assess
    expect(status).toBe(404);
  });
});

describe('local host invocation context', () => {
  it('gives each invocation its own id, carried by all of its log lines, and real extra outputs', async () => {
    // Prepare
    const lines: { functionName: string; invocationId: string; level: string; message: string }[] = [];
    const row: FunctionDefinition = {
      name: 'chatty',
      trigger: 'http',
      route: 'chatty',
      methods: ['GET'],
      authLevel: 'anonymous',
      handler: (_request, context) => {
        context.info('first', 1);
        context.warn('second');
        context.extraOutputs.set('out', 42);
        return Promise.resolve({ jsonBody: { out: context.extraOutputs.get('out') } });
      },
    };
    const started = await startLocalHost({
      functions: [row],
      appSettings: {},
      onLog: (entry) => lines.push(entry),
    });
    hosts.push(started);

    // Act
    const answers = [];
    for (let i = 0; i < 2; i++) answers.push(await (await fetch(`${started.url}/api/chatty`)).json());

    // Assess
    expect(answers).toEqual([{ out: 42 }, { out: 42 }]);
    expect(lines.map((l) => [l.functionName, l.level, l.message])).toEqual([
      ['chatty', 'information', 'first 1'],
      ['chatty', 'warning', 'second'],
      ['chatty', 'information', 'first 1'],
      ['chatty', 'warning', 'second'],
    ]);
    const ids = lines.map((l) => l.invocationId);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[3]).toBe(ids[2]);
    expect(ids[2]).not.toBe(ids[0]);
  });
});
