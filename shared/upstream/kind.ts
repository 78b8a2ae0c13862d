/** `defineKind`: turns a kind's spec (its adapter file) into the `JobAdapter` the rest of the product uses. */
import type { Identity, JobStatus } from '../model';
import type { FieldProblem, JobAdapter, KindSpec, UpstreamRoute } from './types';

/** Checks the spec once, at load: a broken adapter must fail the first test that imports the registry. */
function checkSpec(spec: KindSpec): void {
  const names = spec.identity.map((f) => f.name);
  if (new Set(names).size !== names.length) throw new Error(`${spec.kind}: duplicate identity field`);
  for (const version of spec.apiVersions) {
    const route = spec.route(version);
    const placeholders = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    if (placeholders.join() !== names.join()) {
      throw new Error(`${spec.kind} ${version}: path placeholders ${placeholders.join()} ≠ ${names.join()}`);
    }
  }
  if (spec.lifecycle.shape === 'run' && spec.lifecycle.terminal.size === 0) {
    throw new Error(`${spec.kind}: a run kind needs terminal statuses`);
  }
}

/** The path and query of `route` with the identity values percent-encoded. */
export function routeUrl(endpoint: string, route: UpstreamRoute, identity: Identity): string {
  const base = endpoint.replace(/\/+$/, '');
  const path = route.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(identity[name] ?? ''),
  );
  const query = new URLSearchParams(route.query).toString();
  return query === '' ? `${base}${path}` : `${base}${path}?${query}`;
}

export function defineKind(spec: KindSpec): JobAdapter {
  checkSpec(spec);
  const lifecycle = spec.lifecycle;
  const phase = (status: JobStatus): 'active' | 'idle' | 'terminal' => {
    if (lifecycle.shape === 'run') {
      if (lifecycle.terminal.has(status)) return 'terminal';
      return status === 'notFound' ? 'idle' : 'active';
    }
    return status === 'succeeded' || status === 'failed' || status === 'notFound' ? 'idle' : 'active';
  };
  return {
    ...spec,
    defaultApiVersion: spec.apiVersions[0],
    identityFields: spec.identity.map((f) => f.name),
    phase,
    parseIdentity(body) {
      const problems: FieldProblem[] = [];
      const identity: Record<string, string> = {};
      for (const field of spec.identity) {
        const value = body[field.name];
        const problem = field.problem(value);
        if (problem !== undefined) problems.push({ target: field.name, message: problem });
        else if (typeof value === 'string') identity[field.name] = value;
      }
      return problems.length > 0 ? { problems } : { identity, problems };
    },
    buildUrl: (endpoint, identity, apiVersion) => routeUrl(endpoint, spec.route(apiVersion), identity),
  };
}
