/**
 * docs/spec.md §4: a redirect is never followed. The key header would travel with it to whatever host the upstream names,
 * so a 301/302/307/308 is an InvalidResponse and the redirect target receives nothing.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchUpstream } from '../../shared/upstream/http';
import { CANARY_KEY, startTestStack, type TestStack } from '../support/testStack';

const REDIRECTS = [301, 302, 303, 307, 308] as const;

describe('fetchUpstream and redirects', () => {
  let target: Server;
  let targetOrigin: string;
  const received: IncomingHttpHeaders[] = [];
  let redirector: Server;
  let redirectorOrigin: string;

  beforeAll(async () => {
    target = createServer((req, res) => {
      received.push(req.headers);
      res.end('{"status":"succeeded"}');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetOrigin = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    redirector = createServer((req, res) => {
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status'));
      res.writeHead(status, { location: `${targetOrigin}/steal` });
      res.end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    redirectorOrigin = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const server of [target, redirector]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it.each(REDIRECTS)('returns a %i as it is and sends nothing to the Location host', async (status) => {
    // Act
    const response = await fetchUpstream(`${redirectorOrigin}/face?status=${status}`, {
      headers: { 'Ocp-Apim-Subscription-Key': CANARY_KEY },
      timeoutMs: 2000,
    });

    // Assess
    expect(response.status).toBe(status);
    expect(response.headers.get('location')).toBe(`${targetOrigin}/steal`);
    expect(received).toEqual([]);
  });
});

describe('redirects answered to the poller, through the local host', () => {
  let t: TestStack;
  const start = new Date(Date.now() - 60_000);

  beforeAll(async () => {
    t = await startTestStack({ simulators: { main: {}, target: {} } });
    t.sims.main!.addFaceGroup('g-redirect', {
      createdAt: start,
      trainings: [{ startAt: start, durationMs: 3_600_000, outcome: 'succeeded' }],
    });
    t.sims.target!.addFaceGroup('g-redirect', {
      createdAt: start,
      trainings: [{ startAt: start, durationMs: 1, outcome: 'succeeded' }],
    });
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
  });

  it.each(REDIRECTS)(
    'records InvalidResponse for a %i to another allowed host, which receives nothing',
    async (status) => {
      // Prepare
      const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'g-redirect' });
      const path = '/face/v1.0/persongroups/g-redirect/training';
      // The simulator writes any 3xx it is given (its type lists the four usual ones).
      const redirect = {
        redirectTo: `${t.sims.target!.origin}${path}`,
        status: status as 301 | 302 | 307 | 308,
      };
      t.sims.main!.injectFault({ response: redirect });
      t.sims.target!.resetCalls();

      // Act
      const refreshed = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });

      // Assess
      expect(refreshed.status).toBe(200);
      expect(refreshed.body).toMatchObject({
        status: 'pending',
        lastError: { code: 'InvalidResponse', httpStatus: status },
      });
      expect(t.sims.main!.pendingFaults()).toBe(0);
      expect(t.sims.target!.calls).toEqual([]);
    },
  );

  it('follows no redirect in the poll cycle either, to a metadata address or anywhere else', async () => {
    // Prepare
    t.sims.main!.addLanguageJob('P', 'j-redirect', {
      createdAt: start,
      startAt: start,
      durationMs: 3_600_000,
      outcome: 'succeeded',
    });
    const id = await t.register('main', {
      kind: 'language.textAuthoring',
      projectName: 'P',
      jobId: 'j-redirect',
    });
    t.sims.main!.injectFault({
      match: { kind: 'language.textAuthoring' },
      times: 1,
      response: { redirectTo: 'http://169.254.169.254/metadata/identity/oauth2/token', status: 307 },
    });
    t.sims.target!.resetCalls();

    // Act
    await t.runCycle();
    const status = await t.call(`/api/jobs/${id}/status`);

    // Assess
    expect(t.sims.main!.pendingFaults()).toBe(0);
    expect(status.body).toMatchObject({ lastError: { code: 'InvalidResponse', httpStatus: 307 } });
    expect(t.sims.target!.calls).toEqual([]);
  });
});
