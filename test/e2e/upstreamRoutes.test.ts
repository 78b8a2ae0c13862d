/**
 * Drop-in upstream-shaped reads (docs/spec.md §13) end to end, for every kind: through the local host against the
 * upstream simulator, with plain fetch. The cached answer is the upstream's own body for every api version of the
 * kind, with `ETag` and `Retry-After`; the key is the kind's own header; a job not registered yet on a registered
 * resource is registered and polled once; writes are refused in the upstream's shape.
 */
import { BUDGET_SAFETY_MARGIN } from '../../shared/poller/budget';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_UNAUTHORIZED } from '../../dev/simulator/gateway';
import { listAdapters } from '../../shared/upstream/registry';
import type { JobAdapter } from '../../shared/upstream/types';
import { requestFrom } from '../support/requestFrom';
import { CANARY_KEY, startTestStack, type TestStack } from '../support/testStack';

const MINUTE = 60_000;
const GATEWAY_404 = { error: { code: '404', message: 'Resource not found' } };

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack({ simulators: { main: {}, other: {}, busy: { budget: '1/min' } } });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

/** The drop-in URL of a job on the `sim` resource, for one api version. */
function dropInUrl(
  sim: string,
  adapter: JobAdapter,
  identity: Record<string, string>,
  apiVersion: string,
): string {
  const resource = new URL(t.sims[sim]!.origin).host;
  return adapter.buildUrl(`${t.url}/api/upstream/${resource}`, identity, apiVersion);
}

function addRunning(sim: string, adapter: JobAdapter, seed: string): Record<string, string> {
  const identity = { ...t.sims[sim]!.sampleIdentity(adapter.kind, seed) };
  t.sims[sim]!.addJob(adapter.kind, identity, {
    createdAt: new Date(Date.now() - 10 * MINUTE),
    startAt: new Date(Date.now() + 60 * MINUTE),
    durationMs: MINUTE,
    outcome: 'succeeded',
  });
  return identity;
}

describe.each(listAdapters().map((adapter) => [adapter.kind, adapter] as const))(
  '%s drop-in reads',
  (_kind, adapter) => {
    it('answers the upstream body as sent, with ETag and Retry-After, for every api version of the kind', async () => {
      // Prepare
      const identity = addRunning('main', adapter, `drop-${adapter.kind}`);
      const id = await t.register('main', { kind: adapter.kind, ...identity });
      expect((await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' })).status).toBe(200);
      const direct = await fetch(adapter.buildUrl(t.sims.main!.origin, identity, adapter.defaultApiVersion), {
        headers: { [adapter.keyHeader]: CANARY_KEY },
      });
      const directText = await direct.text();
      const callsBefore = t.sims.main!.calls.length;

      // Act
      const answers = [];
      for (const version of adapter.apiVersions) {
        const response = await fetch(dropInUrl('main', adapter, identity, version), {
          headers: { [adapter.keyHeader]: CANARY_KEY },
        });
        answers.push({ response, text: await response.text() });
      }
      const status = (await t.call(`/api/jobs/${id}/status`)).body as { nextCheckAt: string };

      // Assess
      for (const { response, text } of answers) {
        expect(response.status).toBe(200);
        expect(text).toBe(directText);
        expect(response.headers.get('content-type')).toBe(direct.headers.get('content-type'));
        expect(response.headers.get('etag')).toMatch(/^"[\w-]+"$/);
        const retryAfter = Number(response.headers.get('retry-after'));
        const expected = (Date.parse(status.nextCheckAt) - Date.now()) / 1000;
        expect(retryAfter).toBeGreaterThanOrEqual(Math.floor(expected) - 1);
        expect(retryAfter).toBeLessThanOrEqual(Math.ceil(expected) + 1);
      }
      expect(t.sims.main!.calls.length).toBe(callsBefore);
    });

    it('keeps answering the last good body while the upstream answers 500', async () => {
      // Prepare
      const identity = addRunning('main', adapter, `fault-${adapter.kind}`);
      const id = await t.register('main', { kind: adapter.kind, ...identity });
      await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
      const url = dropInUrl('main', adapter, identity, adapter.defaultApiVersion);
      const headers = { [adapter.keyHeader]: CANARY_KEY };
      const before = await (await fetch(url, { headers })).text();
      const { serverError } = t.sims.main!.errorsOf(adapter.kind);
      t.sims.main!.injectFault({ match: { kind: adapter.kind }, response: serverError });

      // Act
      await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
      const status = (await t.call(`/api/jobs/${id}/status`)).body as { lastError: { code: string } | null };
      const after = await fetch(url, { headers });

      // Assess
      expect(status.lastError?.code).toBe('UpstreamUnavailable');
      expect(after.status).toBe(200);
      expect(await after.text()).toBe(before);
    });

    it('answers HEAD with the headers only, and 304 to a matching If-None-Match', async () => {
      // Prepare
      const identity = addRunning('main', adapter, `head-${adapter.kind}`);
      const id = await t.register('main', { kind: adapter.kind, ...identity });
      await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
      const url = dropInUrl('main', adapter, identity, adapter.defaultApiVersion);
      const headers = { [adapter.keyHeader]: CANARY_KEY };
      const etag = (await fetch(url, { headers })).headers.get('etag')!;

      // Act
      const head = await fetch(url, { method: 'HEAD', headers });
      const revalidated = await fetch(url, { headers: { ...headers, 'if-none-match': etag } });

      // Assess
      expect(head.status).toBe(200);
      expect(head.headers.get('etag')).toBe(etag);
      expect(await head.text()).toBe('');
      expect(revalidated.status).toBe(304);
    });

    it('refuses a wrong or missing key with the upstream 401 body', async () => {
      // Prepare: a client address of its own (failed attempts are limited per address)
      const client = `127.0.1.${listAdapters().indexOf(adapter) + 1}`;
      const identity = addRunning('main', adapter, `key-${adapter.kind}`);
      await t.register('main', { kind: adapter.kind, ...identity });
      const url = dropInUrl('main', adapter, identity, adapter.defaultApiVersion);

      // Act
      const wrong = await requestFrom(client, url, { headers: { [adapter.keyHeader]: 'not-the-key' } });
      const otherHeader = await requestFrom(client, url, {
        headers: { [adapter.keyHeader === 'api-key' ? 'Training-Key' : 'api-key']: CANARY_KEY },
      });
      const missing = await requestFrom(client, url);

      // Assess
      expect([wrong.status, otherHeader.status, missing.status]).toEqual([401, 401, 401]);
      for (const response of [wrong, otherHeader, missing]) {
        expect(JSON.parse(response.text)).toEqual(GATEWAY_UNAUTHORIZED);
      }
    });

    it('registers a job it does not know on a registered resource and polls it once', async () => {
      // Prepare
      await t.register('other', {
        kind: adapter.kind,
        ...addRunning('other', adapter, `known-${adapter.kind}`),
      });
      const identity = addRunning('other', adapter, `fly-${adapter.kind}`);
      const callsBefore = t.sims.other!.calls.length;

      // Act
      const first = await fetch(dropInUrl('other', adapter, identity, adapter.defaultApiVersion), {
        headers: { [adapter.keyHeader]: CANARY_KEY },
      });
      const second = await fetch(dropInUrl('other', adapter, identity, adapter.defaultApiVersion), {
        headers: { [adapter.keyHeader]: CANARY_KEY },
      });
      const listed = await t.call(`/api/jobs?kind=${adapter.kind}&top=100`);

      // Assess
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(await second.text()).toBe(await first.text());
      expect(t.sims.other!.calls.length - callsBefore).toBe(1);
      const jobs = (listed.body as { value: Array<Record<string, unknown>> }).value;
      expect(jobs.some((job) => Object.entries(identity).every(([k, v]) => job[k] === v))).toBe(true);
    });

    it('answers a cached upstream 404 with its status and body', async () => {
      // Prepare
      const identity = { ...t.sims.main!.sampleIdentity(adapter.kind, `gone-${adapter.kind}`) };
      const id = await t.register('main', { kind: adapter.kind, ...identity });
      await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
      const direct = await fetch(adapter.buildUrl(t.sims.main!.origin, identity, adapter.defaultApiVersion), {
        headers: { [adapter.keyHeader]: CANARY_KEY },
      });

      // Act
      const response = await fetch(dropInUrl('main', adapter, identity, adapter.defaultApiVersion), {
        headers: { [adapter.keyHeader]: CANARY_KEY },
      });

      // Assess
      expect(response.status).toBe(direct.status);
      expect(await response.text()).toBe(await direct.text());
    });

    it('refuses writes with 405 in the upstream shape', async () => {
      // Prepare
      const identity = addRunning('main', adapter, `write-${adapter.kind}`);
      const url = dropInUrl('main', adapter, identity, adapter.defaultApiVersion);

      // Act
      const response = await t.call(url.slice(t.url.length), {
        method: 'POST',
        headers: { [adapter.keyHeader]: CANARY_KEY },
      });

      // Assess
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
      expect(response.body).toMatchObject({ error: { code: '405' } });
    });
  },
);

describe('drop-in reads through the budget', () => {
  const face = listAdapters()[0]!;
  const headers = { [face.keyHeader]: CANARY_KEY };

  it('polls a registered job that was never polled once, on its first read', async () => {
    // Prepare
    const identity = addRunning('main', face, 'never-polled');
    await t.register('main', { kind: face.kind, ...identity });
    const callsBefore = t.sims.main!.calls.length;

    // Act
    const response = await fetch(dropInUrl('main', face, identity, face.defaultApiVersion), { headers });

    // Assess
    expect(response.status).toBe(200);
    expect(t.sims.main!.calls.length - callsBefore).toBe(1);
  });

  it('answers 429 with Retry-After for a job met on the fly when the budget has no slot within 5 s', async () => {
    // Prepare: the resource's one call a minute is spent
    const known = addRunning('busy', face, 'busy-known');
    const id = await t.register('busy', { kind: face.kind, ...known });
    expect((await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' })).status).toBe(200);
    const identity = addRunning('busy', face, 'busy-new');
    const callsBefore = t.sims.busy!.calls.length;

    // Act
    const response = await fetch(dropInUrl('busy', face, identity, face.defaultApiVersion), { headers });

    // Assess
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(5);
    // The next slot: one call a minute spaced by the budget's safety margin (61.2 s), in whole seconds rounded up.
    expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(
      Math.ceil(60 * (1 + BUDGET_SAFETY_MARGIN)),
    );
    expect(await response.json()).toMatchObject({ error: { code: '429' } });
    expect(t.sims.busy!.calls.length).toBe(callsBefore);
  });
});

describe('drop-in reads of what is not there', () => {
  it('answers 404 in the upstream shape for a resource with no registered job, without an upstream call', async () => {
    // Prepare
    const adapter = listAdapters()[0]!;
    const identity = { ...t.sims.main!.sampleIdentity(adapter.kind, 'nowhere') };
    const path = adapter.buildUrl(
      '/api/upstream/nothing-here.cognitiveservices.azure.com',
      identity,
      adapter.defaultApiVersion,
    );
    const callsBefore = t.sims.main!.calls.length + t.sims.other!.calls.length;

    // Act
    const response = await t.call(path, { headers: { [adapter.keyHeader]: CANARY_KEY } });

    // Assess
    expect(response.status).toBe(404);
    expect(response.body).toEqual(GATEWAY_404);
    expect(t.sims.main!.calls.length + t.sims.other!.calls.length).toBe(callsBefore);
  });
});
