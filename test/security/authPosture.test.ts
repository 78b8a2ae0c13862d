/**
 * Auth posture (docs/spec.md §7): every /api/jobs* and /api/subscriptions* route needs a function key (authLevel
 * 'function'); only health, the OpenAPI document and the drop-in reads (§13: the upstream's key, checked in code)
 * are anonymous, and health shows no job data (see canary.test.ts). Checked on what the Functions host receives: the
 * compiled entry is loaded with plain node and a stand-in for `@azure/functions-core` that records each
 * registration (as test/e2e/registrations.test.ts does).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { captureRegistrations, triggerOf, VALID_SETTINGS } from '../support/registrations';

interface HttpRoute {
  name: string;
  route: string;
  methods: string[];
  authLevel: string | undefined;
}

function capturedHttpRoutes(): HttpRoute[] {
  const { registrations, status, stderr } = captureRegistrations(VALID_SETTINGS);
  if (status !== 0) throw new Error(`the entry did not load: ${stderr}`);
  return registrations.flatMap((r) => {
    const trigger = triggerOf(r);
    return trigger.type === 'httpTrigger'
      ? [
          {
            name: r.name,
            route: trigger.route ?? '',
            methods: trigger.methods ?? [],
            authLevel: trigger.authLevel,
          },
        ]
      : [];
  });
}

describe('the authorization level of every HTTP route the host receives', () => {
  let routes: HttpRoute[];

  beforeAll(() => {
    routes = capturedHttpRoutes();
  });

  it('registers the sixteen API routes, all under jobs, subscriptions, health, openapi.json or upstream', () => {
    // Assess
    expect(routes).toHaveLength(16);
    expect(
      routes.every(
        (r) =>
          r.route === 'health' ||
          r.route === 'openapi.json' ||
          r.route === 'jobs' ||
          r.route.startsWith('jobs/') ||
          r.route === 'subscriptions' ||
          r.route.startsWith('subscriptions/') ||
          r.route.startsWith('upstream/'),
      ),
    ).toBe(true);
  });

  it('requires a function key on every subscriptions route, for every method', () => {
    // Act
    const subscriptions = routes.filter(
      (r) => r.route === 'subscriptions' || r.route.startsWith('subscriptions/'),
    );

    // Assess
    expect(subscriptions.map((r) => `${r.methods.join(',')} ${r.route}`).sort()).toEqual(
      [
        'DELETE subscriptions/{id}',
        'GET,HEAD subscriptions',
        'GET,HEAD subscriptions/{id}',
        'GET,HEAD subscriptions/{id}/deliveries',
        'POST subscriptions',
        'POST subscriptions/{id}/rotate-secret',
      ].sort(),
    );
    expect(subscriptions.filter((r) => r.authLevel !== 'function').map((r) => r.name)).toEqual([]);
  });

  it('requires a function key on every jobs route, for every method', () => {
    // Act
    const jobs = routes.filter((r) => r.route === 'jobs' || r.route.startsWith('jobs/'));

    // Assess
    expect(jobs.map((r) => `${r.methods.join(',')} ${r.route}`).sort()).toEqual(
      [
        'DELETE jobs/{id}',
        'GET,HEAD jobs',
        'GET,HEAD jobs/{id}',
        'GET,HEAD jobs/{id}/history',
        'GET,HEAD jobs/{id}/status',
        'POST jobs',
        'POST jobs/{id}/refresh',
      ].sort(),
    );
    expect(jobs.filter((r) => r.authLevel !== 'function').map((r) => r.name)).toEqual([]);
  });

  it('leaves only health, the OpenAPI document and the drop-in reads anonymous to the host', () => {
    // Act
    const anonymous = routes.filter((r) => r.authLevel === 'anonymous');

    // Assess: the drop-in reads check the upstream's own key in code (upstreamRoutes.test.ts); any other method
    // than GET and HEAD is answered 405 there.
    expect(anonymous).toEqual([
      { name: 'health', route: 'health', methods: ['GET', 'HEAD'], authLevel: 'anonymous' },
      { name: 'openApi', route: 'openapi.json', methods: ['GET', 'HEAD'], authLevel: 'anonymous' },
      {
        name: 'upstreamRead',
        route: 'upstream/{resource}/{*path}',
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        authLevel: 'anonymous',
      },
    ]);
  });
});
