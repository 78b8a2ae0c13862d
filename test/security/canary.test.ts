/**
 * The canary key (test/support/testStack.ts CANARY_KEY) is the subscription key every stack runs with. After
 * realistic traffic — good polls, 401 rotation, Key Vault faults, upstream error bodies that echo the key, HTML
 * error pages, redirects — it must appear nowhere but in the key header: not in a log line (invocation context or
 * console), an HTTP response, an error body, a Table entity or the history. docs/spec.md §2: "never stored, logged or
 * returned".
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fetchUpstream } from '../../shared/upstream/http';
import { CANARY_KEY, SECRET_NAME, startTestStack, type TestStack } from '../support/testStack';
import { readAllEntities } from './support';

/** Any trace of the key: whole, in another letter case, or its distinctive middle. */
function leaks(text: string): boolean {
  const lower = text.toLowerCase();
  return lower.includes(CANARY_KEY.toLowerCase()) || lower.includes('4f1c9e0b7d2a6358');
}

describe('the canary key after realistic traffic through the local host', () => {
  let t: TestStack;
  const responses: Array<{ request: string; status: number; text: string; headers: string }> = [];
  const consoleLines: string[] = [];
  const start = new Date(Date.now() - 10 * 60_000);
  const ids: Record<string, string> = {};

  /** Every call goes through here, so every response is scanned. */
  async function call(path: string, init?: RequestInit) {
    const response = await t.call(path, init);
    responses.push({
      request: `${init?.method ?? 'GET'} ${path}`,
      status: response.status,
      text: response.text,
      headers: JSON.stringify([...response.headers]),
    });
    return response;
  }

  async function register(name: string, fields: Record<string, unknown>): Promise<string> {
    const response = await call('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: t.sims.main!.origin, keySecretName: SECRET_NAME, ...fields }),
    });
    expect(response.status, response.text).toBe(201);
    ids[name] = (response.body as { id: string }).id;
    return ids[name];
  }

  async function faceJob(name: string, keySecretName = SECRET_NAME): Promise<string> {
    t.sims.main!.addFaceGroup(name, {
      createdAt: start,
      trainings: [{ startAt: start, durationMs: 3_600_000, outcome: 'succeeded' }],
    });
    return register(name, { kind: 'face.personGroup', personGroupId: name, keySecretName });
  }

  beforeAll(async () => {
    for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      const original = console[method].bind(console);
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        consoleLines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
        original(...args);
      });
    }
    t = await startTestStack({ simulators: { main: {} } });
    const sim = t.sims.main!;
    const vault = t.stack.vault!;
    const echo = `Access denied for key ${CANARY_KEY} (Ocp-Apim-Subscription-Key: ${CANARY_KEY.toLowerCase()})`;

    // Good polls of both kinds, through the cycle and through refresh.
    await faceJob('g-ok');
    sim.addLanguageJob('Loans', 'j-ok', {
      createdAt: start,
      startAt: start,
      durationMs: 3_600_000,
      outcome: 'succeeded',
    });
    await register('j-ok', { kind: 'language.textAuthoring', projectName: 'Loans', jobId: 'j-ok' });
    await t.runCycle();
    await call(`/api/jobs/${ids['g-ok']}/refresh`, { method: 'POST' });

    // Upstream answers that echo the key: in messages, codes, inner errors, HTML pages, 200 bodies, headers.
    const echoes: Array<
      [string, { status: number; headers?: Record<string, string>; body: string | object }]
    > = [
      [
        'g-401',
        {
          status: 401,
          headers: { 'x-echo-key': CANARY_KEY },
          body: { error: { code: 'Unspecified', message: echo } },
        },
      ],
      ['g-400', { status: 400, body: { error: { code: CANARY_KEY, message: echo } } }],
      [
        'g-403',
        {
          status: 403,
          body: { error: { code: 'Forbidden', message: echo, innererror: { code: CANARY_KEY } } },
        },
      ],
      ['g-404', { status: 404, body: { error: { code: 'PersonGroupNotFound', message: echo } } }],
      ['g-409', { status: 409, body: `{ "error":{ "code": Conflict, "message": "${echo}" } }` }],
      [
        'g-500',
        {
          status: 500,
          headers: { 'content-type': 'text/html' },
          body: `<html><body><h1>500</h1><pre>${echo}</pre></body></html>`,
        },
      ],
      [
        'g-200',
        {
          status: 200,
          body: { status: 'failed', createdDateTime: null, lastActionDateTime: null, message: echo },
        },
      ],
    ];
    // The last two pause the whole resource (429, quota 403): they go last.
    echoes.push(
      [
        'g-429',
        {
          status: 429,
          headers: { 'retry-after': '1', 'x-key': CANARY_KEY },
          body: { error: { statusCode: 429, message: `${echo}. Try again in 1 seconds.` } },
        },
      ],
      [
        'g-quota',
        { status: 403, body: { error: { statusCode: 403, message: `Out of call volume quota. ${echo}` } } },
      ],
    );
    const answerEcho = async (name: string): Promise<void> => {
      const response = echoes.find(([n]) => n === name)![1];
      const id = await faceJob(name);
      sim.injectFault({ match: { path: new RegExp(`/${name}/`) }, times: 2, response });
      await call(`/api/jobs/${id}/refresh`, { method: 'POST' });
      sim.clearFaults();
    };
    for (const [name] of echoes.filter(([n]) => n !== 'g-429' && n !== 'g-quota')) await answerEcho(name);
    sim.addLanguageJob('Loans', 'j-echo', {
      createdAt: start,
      startAt: start,
      durationMs: 1,
      outcome: 'failed',
    });
    await register('j-echo', { kind: 'language.textAuthoring', projectName: 'Loans', jobId: 'j-echo' });
    sim.injectFault({
      match: { path: /j-echo/ },
      response: {
        status: 200,
        body: {
          status: 'failed',
          jobId: 'j-echo',
          errors: [{ code: CANARY_KEY, message: echo }],
          warnings: [{ code: 'W', message: echo }],
        },
      },
    });
    await call(`/api/jobs/${ids['j-echo']}/refresh`, { method: 'POST' });
    const redirected = await faceJob('g-redirect');
    sim.injectFault({
      match: { path: /g-redirect/ },
      response: { redirectTo: `http://127.0.0.1:9/?subscription-key=${CANARY_KEY}`, status: 302 },
    });
    await call(`/api/jobs/${redirected}/refresh`, { method: 'POST' });

    // Rotation: the upstream refuses the key; the app re-reads it from the vault and retries once.
    const rotated = await faceJob('g-rotated');
    sim.setKeys(['another-key']);
    await call(`/api/jobs/${rotated}/refresh`, { method: 'POST' });
    sim.setKeys([CANARY_KEY]);

    // Key Vault faults (each on its own secret, so the key cache does not hide them), and a missing secret.
    for (const [name, fault] of [
      ['kv-403', { status: 403, times: 1 }],
      ['kv-500', { status: 500, times: 2 }],
      ['kv-429', { status: 429, headers: { 'retry-after': '60' }, times: 2 }],
    ] as const) {
      vault.setSecret(name, CANARY_KEY);
      const id = await faceJob(`g-${name}`, name);
      vault.injectFault(fault);
      await call(`/api/jobs/${id}/refresh`, { method: 'POST' });
      vault.clearFaults();
    }
    await faceJob('g-missing', 'missing-secret');
    await t.runCycle();
    await answerEcho('g-429');
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // the resource pause (Retry-After 1 s, jitter)
    await answerEcho('g-quota');
    await t.runCycle();

    // API errors and every read a client can make.
    await call('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"kind":',
    });
    await call('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'face.personGroup',
        endpoint: 'https://169.254.169.254',
        keySecretName: SECRET_NAME,
        personGroupId: 'x',
      }),
    });
    await call('/api/jobs/0123456789abcdef0123456789abcdef');
    await call('/api/jobs?top=1000');
    await call('/api/jobs?skipToken=forged');
    for (const id of Object.values(ids)) {
      await call(`/api/jobs/${id}`);
      await call(`/api/jobs/${id}/status`);
      await call(`/api/jobs/${id}/history`);
    }
    let next: string | undefined = '/api/jobs?top=5';
    while (next) {
      const page = await call(next.replace(t.url, ''));
      next = (page.body as { nextLink?: string }).nextLink;
    }
    await call('/api/health');
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    vi.restoreAllMocks();
  });

  it('drove the traffic it claims: the key was sent, echoed back, refused, and the vault failed', () => {
    // Act
    const statuses = responses
      .filter((r) => r.request.endsWith('/refresh'))
      .map((r) => (JSON.parse(r.text) as { lastError: { code: string } | null }).lastError?.code ?? 'none');

    // Assess
    expect(t.sims.main!.calls.filter((c) => c.key === CANARY_KEY).length).toBeGreaterThan(10);
    expect(t.sims.main!.pendingFaults()).toBe(0);
    expect(statuses).toEqual(
      expect.arrayContaining([
        'none',
        'Unauthorized',
        'InvalidResponse',
        'Forbidden',
        'NotFound',
        'Conflict',
        'RateLimited',
        'UpstreamUnavailable',
        'QuotaExceeded',
        'SecretUnavailable',
      ]),
    );
    expect(responses.some((r) => r.text.includes('[redacted]'))).toBe(true);
    expect(t.logs.length).toBeGreaterThan(10);
  });

  it('never appears in an HTTP response body or header', () => {
    // Act
    const leaking = responses.filter((r) => leaks(r.text) || leaks(r.headers)).map((r) => r.request);

    // Assess
    expect(responses.length).toBeGreaterThan(50);
    expect(leaking).toEqual([]);
  });

  it('never appears in a log line of the invocation context or the console', () => {
    // Act
    const leaking = [...t.logs, ...consoleLines].filter(leaks);

    // Assess
    expect(t.logs.some((l) => l.includes('job polled'))).toBe(true);
    expect(leaking).toEqual([]);
  });

  it('never appears in a Table entity (jobs, due index, history, resource and cycle state)', async () => {
    // Act
    const entities = await readAllEntities(process.env.AzureWebJobsStorage!);

    // Assess
    expect(entities.some((e) => e.entity.rowKey?.toString().startsWith('hist|'))).toBe(true);
    expect(entities.some((e) => e.table === 'pollstate')).toBe(true);
    expect(entities.filter((e) => leaks(e.text)).map((e) => `${e.table} ${String(e.entity.rowKey)}`)).toEqual(
      [],
    );
  });

  it('travels only in the key header: never in a path or a query string', () => {
    // Act
    const calls = t.sims.main!.calls;

    // Assess
    expect(calls.filter((c) => leaks(JSON.stringify({ path: c.path, query: c.query })))).toEqual([]);
    expect(calls.every((c) => c.key === undefined || c.key === CANARY_KEY || c.key === 'another-key')).toBe(
      true,
    );
  });

  it('leaves health anonymous-safe: the last cycle figures only, no job data', async () => {
    // Act
    const health = await call('/api/health');
    const body = health.body as { status: string; lastCycle: Record<string, unknown> };

    // Assess
    expect(Object.keys(body).sort()).toEqual(['lastCycle', 'status']);
    expect(Object.keys(body.lastCycle).sort()).toEqual([
      'errors',
      'finishedAt',
      'polled',
      'startedAt',
      'upstreamErrors',
    ]);
    for (const secret of [...Object.values(ids), ...Object.keys(ids), t.sims.main!.origin, SECRET_NAME]) {
      expect(health.text).not.toContain(secret);
    }
  });
});

describe('fetchUpstream and a body that echoes the key', () => {
  let server: Server;
  let origin: string;
  let body = '';

  beforeAll(async () => {
    server = createServer((_req, res) => res.end(body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('redacts every copy of a request header value, in any letter case', async () => {
    // Prepare
    body = `{"error":{"code":"${CANARY_KEY}","message":"bad key ${CANARY_KEY.toLowerCase()}"}}`;

    // Act
    const response = await fetchUpstream(`${origin}/x`, {
      headers: { 'Ocp-Apim-Subscription-Key': CANARY_KEY },
      timeoutMs: 2000,
    });

    // Assess
    expect(response.bodyText).toBe('{"error":{"code":"[redacted]","message":"bad key [redacted]"}}');
  });

  it('drops the start of a key cut at the body cap', async () => {
    // Prepare
    body = `${'x'.repeat(1000)}${CANARY_KEY}`;

    // Act
    const response = await fetchUpstream(`${origin}/x`, {
      headers: { 'Ocp-Apim-Subscription-Key': CANARY_KEY },
      timeoutMs: 2000,
      maxBodyBytes: 1010,
    });

    // Assess
    expect(response.truncated).toBe(true);
    expect(response.bodyText).toBe('x'.repeat(1000));
  });
});
