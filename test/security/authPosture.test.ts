/**
 * Auth posture (SPEC §7): every /api/jobs* route needs a function key (authLevel 'function'); only health is
 * anonymous, and it shows no job data (see canary.test.ts). Checked on what the Functions host receives: the
 * compiled entry is loaded with plain node and a stand-in for `@azure/functions-core` that records each
 * registration (as test/e2e/registrations.test.ts does).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

interface Binding {
  type: string;
  direction: string;
  route?: string;
  methods?: string[];
  authLevel?: string;
}

interface HttpRoute {
  name: string;
  route: string;
  methods: string[];
  authLevel: string | undefined;
}

function capturedHttpRoutes(): HttpRoute[] {
  const root = path.resolve(__dirname, '../..');
  const script = `
    const Module = require('node:module');
    const registrations = [];
    const core = {
      registerFunction: (metadata) => { registrations.push(metadata); return { dispose() {} }; },
      setProgrammingModel: () => {},
      getProgrammingModel: () => undefined,
      registerHook: () => ({ dispose() {} }),
    };
    const load = Module._load;
    Module._load = function (request, ...rest) {
      return request === '@azure/functions-core' ? core : load.call(this, request, ...rest);
    };
    require(require('node:path').resolve(require('./package.json').main));
    process.stdout.write(JSON.stringify(registrations));
  `;
  const result = spawnSync(process.execPath, ['-e', script], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      KEY_VAULT_URL: 'https://contoso-vault.vault.azure.net',
    },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`the entry did not load: ${result.stderr}`);
  const registrations = JSON.parse(result.stdout) as Array<{
    name: string;
    bindings: Record<string, Binding>;
  }>;
  return registrations.flatMap((r) => {
    const trigger = Object.values(r.bindings).find((b) => b.direction === 'in' && b.type === 'httpTrigger');
    return trigger
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

  it('registers the eight API routes, all under jobs or health', () => {
    // Assess
    expect(routes).toHaveLength(8);
    expect(
      routes.every((r) => r.route === 'health' || r.route === 'jobs' || r.route.startsWith('jobs/')),
    ).toBe(true);
  });

  it('requires a function key on every jobs route, for every method', () => {
    // Act
    const jobs = routes.filter((r) => r.route === 'jobs' || r.route.startsWith('jobs/'));

    // Assess
    expect(jobs.map((r) => `${r.methods.join(',')} ${r.route}`).sort()).toEqual(
      [
        'DELETE jobs/{id}',
        'GET jobs',
        'GET jobs/{id}',
        'GET jobs/{id}/history',
        'GET jobs/{id}/status',
        'POST jobs',
        'POST jobs/{id}/refresh',
      ].sort(),
    );
    expect(jobs.filter((r) => r.authLevel !== 'function').map((r) => r.name)).toEqual([]);
  });

  it('leaves only health anonymous, and only for GET', () => {
    // Act
    const anonymous = routes.filter((r) => r.authLevel === 'anonymous');

    // Assess
    expect(anonymous).toEqual([
      { name: 'health', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
    ]);
  });
});
