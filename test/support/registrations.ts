import { spawnSync } from 'node:child_process';
import path from 'node:path';

export interface Binding {
  type: string;
  direction: string;
  route?: string;
  methods?: string[];
  authLevel?: string;
  schedule?: string;
}

export interface Registration {
  name: string;
  bindings: Record<string, Binding>;
}

export const VALID_SETTINGS = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  KEY_VAULT_URL: 'https://contoso-vault.vault.azure.net',
};

/**
 * Loads the compiled entry (package.json `main`) with plain node, as the Functions host does, with a stand-in
 * for `@azure/functions-core` that records what the host would receive.
 */
export function captureRegistrations(env: Record<string, string>): {
  registrations: Registration[];
  stderr: string;
  status: number | null;
} {
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
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return {
    registrations: result.status === 0 ? (JSON.parse(result.stdout) as Registration[]) : [],
    stderr: result.stderr,
    status: result.status,
  };
}

/** The trigger binding of a registration. */
export function triggerOf(registration: Registration): Binding {
  return Object.values(registration.bindings).find((b) => b.direction === 'in' && /Trigger$/.test(b.type))!;
}
