/**
 * docs/spec.md §8 / OWASP API7 (SSRF): only Azure AI services origins (and the exact loopback origins listed in
 * ALLOWED_UPSTREAM_HOSTS) may receive a subscription key. Every hostile endpoint of the corpus is refused at
 * registration with 400 and nothing stored, and the same check runs again before every upstream call.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { newJob, parseRegistration } from '../../shared/api/registration';
import { buildServices } from '../../functions/buildServices';
import { loadConfig } from '../../shared/config';
import type { Job } from '../../shared/model';
import { createTableClientFactory, TableJobStore } from '../../shared/store/tableJobStore';
import { checkUpstreamOrigin } from '../../shared/upstream/allowList';
import { COGNITIVE_SERVICES_HOSTS as HOSTS } from '../../shared/upstream/hosts';
import { getAdapter } from '../../shared/upstream/registry';
import { startTestStack, type TestStack } from '../support/testStack';
import { hostileEndpoints, VALID_ENDPOINTS, type CorpusEntry } from './endpointCorpus';
import {
  apiErrorOf,
  jobRows,
  LOCAL_ORIGIN,
  readAllEntities,
  registrationContext,
  VALID_BODIES,
  writesOf,
} from './support';

const label = (endpoint: string): string =>
  JSON.stringify(endpoint.length > 80 ? `${endpoint.slice(0, 77)}...(${endpoint.length} chars)` : endpoint);

const LOCAL_CORPUS = hostileEndpoints(LOCAL_ORIGIN).map((e) => ({ ...e, label: label(e.endpoint) }));

describe('the hostile endpoint corpus', () => {
  it('holds at least 60 endpoints covering every family of trick', () => {
    // Act
    const categories = new Set(LOCAL_CORPUS.map((e) => e.category));

    // Assess
    expect(LOCAL_CORPUS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(LOCAL_CORPUS.map((e) => e.endpoint)).size).toBe(LOCAL_CORPUS.length);
    expect([...categories].sort()).toEqual(
      [
        'IPv4 literal (dotted)',
        'IPv4 literal (decimal, hex, octal, short)',
        'IPv6 literal',
        'IPv4-mapped IPv6',
        'loopback and metadata',
        'lookalike and suffix tricks',
        'user info',
        'other ports',
        'paths, queries and fragments',
        'non-https schemes and malformed URLs',
        'IDN and punycode lookalikes',
        'trailing dots',
        'percent-encoding tricks',
        'very long hosts and endpoints',
        'tricks on the allowed loopback origin',
      ].sort(),
    );
  });
});

describe('checkUpstreamOrigin with the corpus', () => {
  it.each(LOCAL_CORPUS)('refuses $category: $label', ({ endpoint }) => {
    // Act
    const result = checkUpstreamOrigin(endpoint, [LOCAL_ORIGIN], HOSTS);

    // Assess
    expect(result.ok).toBe(false);
  });

  it.each(VALID_ENDPOINTS)('accepts $endpoint as $origin', ({ endpoint, origin }) => {
    // Act
    const result = checkUpstreamOrigin(endpoint, [], HOSTS);

    // Assess
    expect(result).toMatchObject({ ok: true, origin });
  });

  it('accepts the listed loopback origin, with or without a trailing slash, and nothing near it', () => {
    // Act
    const exact = checkUpstreamOrigin(LOCAL_ORIGIN, [LOCAL_ORIGIN], HOSTS);
    const slash = checkUpstreamOrigin(`${LOCAL_ORIGIN}/`, [LOCAL_ORIGIN], HOSTS);
    const unlisted = checkUpstreamOrigin(LOCAL_ORIGIN, [], HOSTS);

    // Assess
    expect(exact).toEqual({ ok: true, origin: LOCAL_ORIGIN, resource: '127.0.0.1:7072' });
    expect(slash).toEqual(exact);
    expect(unlisted.ok).toBe(false);
  });
});

describe('parseRegistration with the corpus', () => {
  it.each(LOCAL_CORPUS)('answers InvalidArgument on endpoint for $category: $label', ({ endpoint }) => {
    // Prepare
    const body = JSON.stringify({ ...VALID_BODIES.face, endpoint });

    // Act
    const error = apiErrorOf(() => parseRegistration(body, 'application/json', registrationContext));

    // Assess
    expect(error.status).toBe(400);
    expect(error.code).toBe('InvalidArgument');
    expect(error.target).toBe('endpoint');
  });

  it.each(VALID_ENDPOINTS)('registers $endpoint with the normalized origin', ({ endpoint, origin }) => {
    // Prepare
    const body = JSON.stringify({ ...VALID_BODIES.language, endpoint });

    // Act
    const registration = parseRegistration(body, 'application/json', registrationContext);

    // Assess
    expect(registration.endpoint).toBe(origin);
  });
});

describe('POST /api/jobs with the corpus, through the local host', () => {
  let t: TestStack;
  let corpus: CorpusEntry[];

  beforeAll(async () => {
    t = await startTestStack({ simulators: { main: {} } });
    corpus = hostileEndpoints(t.sims.main!.origin);
    await t.call('/api/jobs?top=1'); // the app creates its tables on first use
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
  });

  it('refuses every hostile endpoint with 400 InvalidArgument on endpoint, and stores nothing', async () => {
    // Prepare
    t.tables.resetCount();
    const refused: string[] = [];

    // Act
    for (const { endpoint } of corpus) {
      const response = await t.call('/api/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          kind: 'face.personGroup',
          endpoint,
          keySecretName: 'test-upstream-key',
          personGroupId: 'g1',
        }),
      });
      const body = response.body as { error?: { code?: string; target?: string } };
      if (
        response.status === 400 &&
        body.error?.code === 'InvalidArgument' &&
        body.error.target === 'endpoint'
      )
        refused.push(endpoint);
    }
    await t.runCycle();
    const entities = await readAllEntities(process.env.AzureWebJobsStorage!);

    // Assess
    expect(corpus.length).toBeGreaterThanOrEqual(60);
    expect(corpus.filter((e) => !refused.includes(e.endpoint)).map((e) => label(e.endpoint))).toEqual([]);
    expect(jobRows(entities)).toEqual([]);
    expect(writesOf(t.tables.requests).filter((w) => !w.includes('pollstate'))).toEqual([]);
    expect(t.sims.main!.calls).toEqual([]);
  });

  it('registers the valid form of every cloud (201, normalized endpoint)', async () => {
    // Prepare
    const results: Array<{ status: number; endpoint: unknown }> = [];

    // Act
    for (const { endpoint } of VALID_ENDPOINTS) {
      const response = await t.call('/api/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          kind: 'face.personGroup',
          endpoint,
          keySecretName: 'test-upstream-key',
          personGroupId: `g-${results.length}`,
        }),
      });
      const job = response.body as { id: string; endpoint: unknown };
      results.push({ status: response.status, endpoint: job.endpoint });
      // Not polled here: these hosts are real Azure resources.
      await t.call(`/api/jobs/${job.id}`, { method: 'DELETE' });
    }

    // Assess
    expect(results).toEqual(VALID_ENDPOINTS.map(({ origin }) => ({ status: 201, endpoint: origin })));
  });
});

describe('the allow-list check before every upstream call', () => {
  const connectionString = inject('azuriteConnectionString');
  let store: TableJobStore;

  beforeAll(async () => {
    const suffix = randomBytes(5).toString('hex');
    store = new TableJobStore({
      tableClient: createTableClientFactory({ connectionString }),
      tables: { jobs: `secjobs${suffix}`, state: `secstate${suffix}` },
    });
    await store.initialize();
  });

  /** A job stored as it was registered before the rules changed (registration is not consulted). */
  function storedJob(endpoint: string, n: number): Job {
    const registration = {
      kind: 'face.personGroup',
      endpoint,
      keySecretName: 'face-key',
      apiVersion: 'v1.0',
      pollIntervalSeconds: 60,
      identity: { personGroupId: `g-${n}` },
    };
    return newJob(registration, getAdapter('face.personGroup')!, new Date());
  }

  function pollerWith(allowed: readonly string[]) {
    const fetched: string[] = [];
    const keyReads: string[] = [];
    const { poller } = buildServices(
      {
        ...loadConfig({
          AzureWebJobsStorage: connectionString,
          KEY_VAULT_URL: 'https://unused.vault.azure.net',
          UPSTREAM_TIMEOUT_SECONDS: '1',
          CYCLE_DEADLINE_SECONDS: '20',
          CYCLE_MAX_JOBS: '1000',
        }),
        allowedUpstreamOrigins: [...allowed],
      },
      {
        store,
        keys: {
          getKey: (name) => {
            keyReads.push(name);
            return Promise.resolve('CANARY-KEY-never-sent');
          },
        },
        fetchUpstream: (url) => {
          fetched.push(url);
          return Promise.resolve({ status: 200, headers: new Headers(), bodyText: '{"status":"running"}' });
        },
        random: () => 0,
      },
    );
    return { poller, fetched, keyReads };
  }

  it('never reads the key nor calls a stored endpoint that is no longer allowed, and records InvalidResponse', async () => {
    // Prepare: the loopback origin was allowed when these were registered; hostile ones were stored by hand.
    const endpoints = [
      LOCAL_ORIGIN,
      'http://169.254.169.254',
      'https://127.0.0.1',
      'https://x.cognitiveservices.azure.com.evil.com',
      'https://user@x.cognitiveservices.azure.com',
      'https://x.cognitiveservices.azure.com:8443',
      'https://[::ffff:127.0.0.1]',
      'https://2130706433',
      'https://x.cognitiveservices.azure.com/face?x=1',
      `https://x.cognitiveservices.azure.com/${'a'.repeat(2_000)}`,
    ];
    const jobs = endpoints.map((endpoint, n) => storedJob(endpoint, n));
    for (const job of jobs) await store.register(job);
    const { poller, fetched, keyReads } = pollerWith([]);

    // Act
    await poller.runCycle();
    const refreshed = await poller.pollNow(jobs[0]!.id);
    const after = await Promise.all(jobs.map((job) => store.get(job.id)));

    // Assess
    expect(fetched).toEqual([]);
    expect(keyReads).toEqual([]);
    expect(refreshed.state.lastError).toMatchObject({ code: 'InvalidResponse' });
    for (const job of after.filter((j) => j!.endpoint.length < 1000)) {
      expect(job?.state.lastError?.code, job?.endpoint).toBe('InvalidResponse');
      expect(job?.state.lastError?.message, job?.endpoint).toMatch(/no longer allowed/);
    }
  });

  // Known defect, owned by shared/poller/poller.ts: `resourceOf` keys a refused endpoint as `invalid:${endpoint}`,
  // which the store refuses as a resource key over 1024 characters, so the whole resource poll throws every cycle
  // and the job never records its InvalidResponse (no key is read or sent either way: see the test above).
  // Fix: a bounded key for refused endpoints (e.g. `invalid:` + a hash), or no budget slot for them at all.
  it('records InvalidResponse for a stored endpoint longer than a resource key', async () => {
    // Prepare
    const job = storedJob(`https://x.cognitiveservices.azure.com/${'a'.repeat(2_000)}`, 200);
    await store.register(job);
    const { poller, fetched } = pollerWith([]);

    // Act
    await poller.runCycle();
    const after = await store.get(job.id);

    // Assess
    expect(fetched).toEqual([]);
    expect(after?.state.lastError?.code).toBe('InvalidResponse');
  });

  it('calls the same stored endpoint while it is allowed (the check is what stops it)', async () => {
    // Prepare
    const job = storedJob(LOCAL_ORIGIN, 100);
    await store.register(job);
    const { poller, fetched, keyReads } = pollerWith([LOCAL_ORIGIN]);

    // Act
    await poller.pollNow(job.id);

    // Assess
    expect(fetched).toEqual([`${LOCAL_ORIGIN}/face/v1.0/persongroups/g-100/training`]);
    expect(keyReads).toEqual(['face-key']);
  });
});
