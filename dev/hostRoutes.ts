/* How the local host reads a request target and matches it to a route of the function table. */

/**
 * The path of a request target, when URL parsing would leave it as it is: origin-form, and up to its query only
 * unreserved characters (no percent-encoding), no dot segment, and no fragment after it. Undefined otherwise: the
 * caller then parses the target with `URL`, which handles every other form.
 */
export function plainPath(target: string): string | undefined {
  const end = target.indexOf('?');
  const path = end === -1 ? target : target.slice(0, end);
  if (!PLAIN_PATH.test(path) || DOT_SEGMENT.test(path)) return undefined;
  if (end !== -1 && target.includes('#', end)) return undefined;
  return path;
}

const PLAIN_PATH = /^\/(?!\/)[\w\-.~/]*$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

/**
 * Compiles a route once into a matcher of a path's segments (as given, and lower-cased): `jobs/{id}/status`
 * matches `jobs/abc/status`; a parameter never spans a '/', is never empty and is percent-decoded; literal segments
 * compare case-insensitively.
 */
export function compileRoute(
  route: string,
): (segments: readonly string[], lowerSegments: readonly string[]) => Record<string, string> | undefined {
  const parts = route.split('/').map((r) => {
    const param = /^\{(\w+)\}$/.exec(r);
    return param ? { param: param[1]! } : { literal: r.toLowerCase() };
  });
  // A last `{*name}` takes the rest of the path (at least one character), as the Functions host routes it.
  const rest = /^\{\*(\w+)\}$/.exec(route.split('/').pop() ?? '')?.[1];
  if (rest !== undefined) parts.pop();
  return (segments, lowerSegments) => {
    if (rest === undefined ? segments.length !== parts.length : segments.length <= parts.length)
      return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const r = parts[i]!;
      if (r.param !== undefined) {
        const p = segments[i]!;
        if (p === '') return undefined;
        try {
          params[r.param] = decodeURIComponent(p);
        } catch {
          return undefined;
        }
      } else if (r.literal !== lowerSegments[i]) {
        return undefined;
      }
    }
    if (rest !== undefined) {
      const tail = segments.slice(parts.length).join('/');
      if (tail === '') return undefined;
      params[rest] = tail;
    }
    return params;
  };
}
