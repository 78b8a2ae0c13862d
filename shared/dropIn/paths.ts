/**
 * Drop-in URLs (docs/spec.md §13): `/api/upstream/{resource}/{upstream path}?{upstream query}` → the kind, api version
 * and identity of the job it names, for every kind and every api version it supports (the kind's own route, §2).
 * Pure: no I/O. Anything that is not exactly one kind's route is no match (the caller answers the upstream's 404).
 *
 * The rules, in the order they apply:
 * - The URL is read by WHATWG `URL` first (the host does the same), so `.` and `..` segments (also `%2e`) are
 *   resolved before anything here sees the path: a traversal can only land on another path, never widen one.
 * - `{resource}` is the registered endpoint's host, with `:port` when it has one; lowercased; a DNS name or IPv4
 *   address with an optional port, nothing else.
 * - Each path segment is percent-decoded on its own: an encoded `/` or `\`, an empty segment (`//`, a trailing `/`),
 *   a `.`/`..` left after decoding or a malformed escape is no match.
 * - Literal segments (`face`, `persongroups`, `v1.0`, ...) compare case-insensitively, as the upstream gateways do;
 *   identity values are taken as written and must pass the kind's identity rules (the same as registration).
 * - Each query parameter of the route (`api-version`) must appear exactly once with exactly the route's value; other
 *   parameters are ignored (nothing is forwarded upstream).
 */
import type { Identity } from '../model';
import { checkUpstreamOrigin, resourceOf } from '../upstream/allowList';
import type { JobAdapter } from '../upstream/types';

export const DROP_IN_PREFIX = '/api/upstream/';

/** The job a drop-in URL names. */
export interface DropInTarget {
  adapter: JobAdapter;
  apiVersion: string;
  identity: Identity;
}

export type ParsedDropInUrl =
  { ok: true; resource: string; target: DropInTarget } | { ok: false; resource?: string };

const RESOURCE =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/;
const MAX_URL_LENGTH = 4096;

interface CompiledRoute {
  adapter: JobAdapter;
  apiVersion: string;
  /** Lowercased literal, or the identity field's name. */
  segments: ({ literal: string } | { field: string })[];
  query: readonly (readonly [string, string])[];
}

const compiledFor = new WeakMap<readonly JobAdapter[], CompiledRoute[]>();

function compile(adapters: readonly JobAdapter[]): CompiledRoute[] {
  let routes = compiledFor.get(adapters);
  if (routes) return routes;
  routes = adapters.flatMap((adapter) =>
    adapter.apiVersions.map((apiVersion) => {
      const route = adapter.route(apiVersion);
      return {
        adapter,
        apiVersion,
        segments: route.path
          .split('/')
          .slice(1)
          .map((part) => {
            const field = /^\{([^}]+)\}$/.exec(part);
            return field ? { field: field[1]! } : { literal: decodeURIComponent(part).toLowerCase() };
          }),
        query: Object.entries(route.query),
      };
    }),
  );
  compiledFor.set(adapters, routes);
  return routes;
}

/** Reads a drop-in request URL (absolute, as the host gives it). */
export function parseDropInUrl(requestUrl: string, adapters: readonly JobAdapter[]): ParsedDropInUrl {
  if (requestUrl.length > MAX_URL_LENGTH) return { ok: false };
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { ok: false };
  }
  const path = url.pathname;
  if (path.slice(0, DROP_IN_PREFIX.length).toLowerCase() !== DROP_IN_PREFIX) return { ok: false };
  const raw = path.slice(DROP_IN_PREFIX.length).split('/');
  const resource = decodeSegment(raw[0] ?? '')?.toLowerCase();
  if (resource === undefined || !RESOURCE.test(resource)) return { ok: false };
  const segments: string[] = [];
  for (const part of raw.slice(1)) {
    const decoded = decodeSegment(part);
    if (decoded === undefined) return { ok: false, resource };
    segments.push(decoded);
  }
  for (const route of compile(adapters)) {
    const target = matchRoute(route, segments, url.searchParams);
    if (target) return { ok: true, resource, target };
  }
  return { ok: false, resource };
}

/** One segment, percent-decoded; undefined for an empty, dot, slash-carrying or malformed segment. */
function decodeSegment(segment: string): string | undefined {
  if (segment === '') return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  if (decoded === '.' || decoded === '..' || /[/\\]/.test(decoded)) return undefined;
  return decoded;
}

function matchRoute(
  route: CompiledRoute,
  segments: readonly string[],
  query: URLSearchParams,
): DropInTarget | undefined {
  if (segments.length !== route.segments.length) return undefined;
  const identity: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const expected = route.segments[i]!;
    const actual = segments[i]!;
    if ('literal' in expected) {
      if (actual.toLowerCase() !== expected.literal) return undefined;
    } else {
      identity[expected.field] = actual;
    }
  }
  for (const [name, value] of route.query) {
    const values = query.getAll(name);
    if (values.length !== 1 || values[0] !== value) return undefined;
  }
  const { identity: parsed } = route.adapter.parseIdentity(identity);
  if (!parsed) return undefined;
  return { adapter: route.adapter, apiVersion: route.apiVersion, identity: parsed };
}

/**
 * The endpoint (normalized origin) of `resource` for a kind: an `ALLOWED_UPSTREAM_HOSTS` origin on that host and
 * port when one is listed (local simulators, plain http on loopback), else `https://{resource}`; undefined when the
 * kind may not call it (docs/spec.md §8: the same check as registration). The job id derives from this origin.
 */
export function endpointFor(
  resource: string,
  extraOrigins: readonly string[],
  adapter: JobAdapter,
): string | undefined {
  const candidates = [
    ...extraOrigins.filter((origin) => resourceOf(origin.trim()) === resource),
    `https://${resource}`,
  ];
  for (const candidate of candidates) {
    const check = checkUpstreamOrigin(candidate, extraOrigins, adapter.allowedHosts);
    if (check.ok && check.resource === resource) return check.origin;
  }
  return undefined;
}
