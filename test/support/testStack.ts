import { APP_ENVIRONMENT } from '../../shared/config';
import { startAzurite, type AzuriteInstance } from '../../dev/azurite';
import { startLocalStack, type LocalStack } from '../../dev/stack';
import { startTrafficProxy, type TrafficProxy } from '../../dev/trafficProxy';
import { startUpstreamSimulator, type UpstreamSimulator } from '../../dev/upstreamSimulator';

/** A recognizable subscription key: tests assert it never appears anywhere it should not. */
export const CANARY_KEY = 'CANARY-KEY-4f1c9e0b7d2a6358-DO-NOT-LEAK';
export const SECRET_NAME = 'test-upstream-key';

export interface TestStack {
  stack: LocalStack;
  url: string;
  /** Simulators by name; each is its own upstream resource (host:port). */
  sims: Record<string, UpstreamSimulator>;
  /** Counts every request the app makes to Table Storage. */
  tables: TrafficProxy;
  logs: string[];
  call(
    path: string,
    init?: RequestInit,
  ): Promise<{ status: number; headers: Headers; body: unknown; text: string }>;
  /** Runs pollJobs through the admin endpoint and waits until /api/health shows the finished cycle. */
  runCycle(): Promise<void>;
  /** Registers a job on a simulator and returns its id. */
  register(sim: string, fields: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The app through the local host, as `npm start` runs it, with simulators the test controls (one resource
 * each), Azurite behind a counting proxy, and the Key Vault and identity stand-ins holding the canary key.
 */
export async function startTestStack(options: {
  simulators: Record<string, { budget?: string }>;
  settings?: Record<string, string>;
  /** Run the timer on its schedule (`POLL_SCHEDULE`) in real time; default off (cycles run through `runCycle`). */
  runTimers?: boolean;
}): Promise<TestStack> {
  for (const name of APP_ENVIRONMENT) delete process.env[name];
  const sims: Record<string, UpstreamSimulator> = {};
  for (const name of Object.keys(options.simulators))
    sims[name] = await startUpstreamSimulator({ keys: [CANARY_KEY] });
  const azurite: AzuriteInstance = await startAzurite();
  const tables = await startTrafficProxy(azurite.tableEndpoint.replace(/\/devstoreaccount1$/, ''));
  const logs: string[] = [];
  Object.assign(process.env, {
    AzureWebJobsStorage: azurite.connectionString.replace(
      /TableEndpoint=[^;]+/,
      `TableEndpoint=${tables.origin}/devstoreaccount1`,
    ),
    ALLOWED_UPSTREAM_HOSTS: Object.values(sims)
      .map((s) => s.origin)
      .join(','),
    UPSTREAM_RATE_LIMITS: Object.entries(options.simulators)
      .map(([name, o]) => `${new URL(sims[name]!.origin).host}=${o.budget ?? '6000/min'}`)
      .join(','),
    UPSTREAM_TIMEOUT_SECONDS: '1',
    CYCLE_DEADLINE_SECONDS: '20',
    ...options.settings,
  });
  const stack = await startLocalStack({
    env: process.env,
    upstreamKey: CANARY_KEY,
    runTimers: options.runTimers ?? false,
    onLog: (entry) => logs.push(`${entry.level} ${entry.message}`),
  });
  // The stack's vault holds the key under the demo name; tests use their own secret name too.
  stack.vault?.setSecret(SECRET_NAME, CANARY_KEY);
  const url = stack.host.url;

  const call: TestStack['call'] = async (path, init) => {
    const response = await fetch(`${url}${path}`, init);
    const text = await response.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: response.status, headers: response.headers, body, text };
  };

  return {
    stack,
    url,
    sims,
    tables,
    logs,
    call,
    runCycle: async () => {
      const before = JSON.stringify((await call('/api/health')).body);
      const started = await call('/admin/functions/pollJobs', { method: 'POST', body: '{"input":""}' });
      if (started.status !== 202) throw new Error(`admin call answered ${started.status}`);
      for (let i = 0; i < 400; i++) {
        await new Promise((r) => setTimeout(r, 50));
        if (JSON.stringify((await call('/api/health')).body) !== before) return;
      }
      throw new Error('the poll cycle did not finish');
    },
    register: async (sim, fields) => {
      const response = await call('/api/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ endpoint: sims[sim]!.origin, keySecretName: SECRET_NAME, ...fields }),
      });
      const id = (response.body as { id?: string } | undefined)?.id;
      if (response.status >= 300 || !id)
        throw new Error(`registration failed: ${response.status} ${response.text}`);
      return id;
    },
    stop: async () => {
      await stack.stop();
      for (const sim of Object.values(sims)) await sim.stop();
      await tables.stop();
      await azurite.stop();
    },
  };
}
