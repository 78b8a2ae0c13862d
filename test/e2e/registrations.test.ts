import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureRegistrations, triggerOf, VALID_SETTINGS as validSettings } from '../support/registrations';

describe('registrations the Functions host sees', () => {
  it('registers every route of the API with its methods (HEAD with every GET), and function-level auth except health and the OpenAPI document', () => {
    // Act
    const { registrations, stderr, status } = captureRegistrations(validSettings);

    // Assess
    expect(status, stderr).toBe(0);
    const http = registrations
      .filter((r) => triggerOf(r).type === 'httpTrigger')
      .map((r) => ({
        name: r.name,
        route: triggerOf(r).route,
        methods: triggerOf(r).methods,
        authLevel: triggerOf(r).authLevel,
      }));
    expect(http).toEqual(
      expect.arrayContaining([
        { name: 'registerJob', route: 'jobs', methods: ['POST'], authLevel: 'function' },
        { name: 'listJobs', route: 'jobs', methods: ['GET', 'HEAD'], authLevel: 'function' },
        { name: 'getJob', route: 'jobs/{id}', methods: ['GET', 'HEAD'], authLevel: 'function' },
        { name: 'getJobStatus', route: 'jobs/{id}/status', methods: ['GET', 'HEAD'], authLevel: 'function' },
        {
          name: 'getJobHistory',
          route: 'jobs/{id}/history',
          methods: ['GET', 'HEAD'],
          authLevel: 'function',
        },
        { name: 'refreshJob', route: 'jobs/{id}/refresh', methods: ['POST'], authLevel: 'function' },
        { name: 'deleteJob', route: 'jobs/{id}', methods: ['DELETE'], authLevel: 'function' },
        { name: 'health', route: 'health', methods: ['GET', 'HEAD'], authLevel: 'anonymous' },
        { name: 'openApi', route: 'openapi.json', methods: ['GET', 'HEAD'], authLevel: 'anonymous' },
        { name: 'createSubscription', route: 'subscriptions', methods: ['POST'], authLevel: 'function' },
        {
          name: 'listSubscriptions',
          route: 'subscriptions',
          methods: ['GET', 'HEAD'],
          authLevel: 'function',
        },
        {
          name: 'getSubscription',
          route: 'subscriptions/{id}',
          methods: ['GET', 'HEAD'],
          authLevel: 'function',
        },
        {
          name: 'deleteSubscription',
          route: 'subscriptions/{id}',
          methods: ['DELETE'],
          authLevel: 'function',
        },
        {
          name: 'rotateSubscriptionSecret',
          route: 'subscriptions/{id}/rotate-secret',
          methods: ['POST'],
          authLevel: 'function',
        },
        {
          name: 'listSubscriptionDeliveries',
          route: 'subscriptions/{id}/deliveries',
          methods: ['GET', 'HEAD'],
          authLevel: 'function',
        },
        {
          name: 'upstreamRead',
          route: 'upstream/{resource}/{*path}',
          methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
          authLevel: 'anonymous',
        },
      ]),
    );
    expect(http).toHaveLength(16);
    for (const route of http.filter(
      (r) => r.route?.startsWith('jobs') || r.route?.startsWith('subscriptions'),
    ))
      expect(route.authLevel).toBe('function');
  });

  it('registers the poll cycle as a timer on the POLL_SCHEDULE app setting', () => {
    // Act
    const { registrations, stderr, status } = captureRegistrations(validSettings);

    // Assess
    expect(status, stderr).toBe(0);
    const timers = registrations.filter((r) => triggerOf(r).type === 'timerTrigger');
    expect(timers.map((r) => ({ name: r.name, schedule: triggerOf(r).schedule }))).toEqual([
      { name: 'pollJobs', schedule: '%POLL_SCHEDULE%' },
    ]);
  });

  it('matches the OpenAPI document: every route and method registered is documented, and nothing more', () => {
    // Prepare
    const openapi = JSON.parse(readFileSync(path.resolve(__dirname, '../../openapi.json'), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(openapi.paths).flatMap(([route, item]) =>
      Object.keys(item)
        .filter((m) => ['get', 'head', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${route.slice(1)}`),
    );

    // Act
    const { registrations } = captureRegistrations(validSettings);

    // Assess
    const registered = registrations
      .filter((r) => triggerOf(r).type === 'httpTrigger')
      .flatMap((r) => (triggerOf(r).methods ?? []).map((m) => `${m} ${triggerOf(r).route ?? ''}`))
      // A catch-all `{*path}` is the path parameter `{path}` in OpenAPI.
      .map((route) => route.replace('{*', '{'));
    expect(registered.sort()).toEqual(documented.sort());
  });

  it('stops at start with every invalid setting listed', () => {
    // Act
    const { status, stderr } = captureRegistrations({
      KEY_VAULT_URL: 'http://contoso-vault.vault.azure.net',
      POLL_SCHEDULE: '*/5 * * * *',
      UPSTREAM_RATE_LIMITS: 'myface.cognitiveservices.azure.com=fast',
    });

    // Assess
    expect(status).not.toBe(0);
    expect(stderr).toContain('AzureWebJobsStorage');
    expect(stderr).toContain('KEY_VAULT_URL');
    expect(stderr).toContain('POLL_SCHEDULE');
    expect(stderr).toContain('UPSTREAM_RATE_LIMITS');
  });
});
