/**
 * Which upstream origins may receive a subscription key (docs/spec.md §8).
 *
 * The raw string is checked by hand before anything else: WHATWG `URL` silently rewrites hosts (decimal and hex
 * IPv4, `%2e`, a trailing dot, IDN to punycode, `\` to `/`), and every such trick must be refused with a clear
 * message rather than normalized into something that happens to match. `URL` is then used only as a second
 * opinion: its reading must agree with ours.
 *
 * Which hosts are allowed is the kind's (`KindSpec.allowedHosts`): the caller passes the patterns of the job's kind.
 */
import { hostPatternRegExp } from './hosts';

export type OriginCheck = { ok: true; origin: string; resource: string } | { ok: false; message: string };

/** Longest endpoint string looked at (a DNS name is at most 253 characters). */
export const MAX_ENDPOINT_LENGTH = 300;

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/** An origin split into its parts by hand (lowercase scheme and host; port as written, '' when absent). */
interface RawOrigin {
  scheme: 'http' | 'https';
  host: string;
  port: string;
  hostKind: 'dns' | 'ipv4' | 'ipv6';
}

type Parsed = { ok: true; value: RawOrigin } | { ok: false; message: string };

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

/** Compiled patterns, by pattern text (a handful of kinds share a few families). */
const compiled = new Map<string, RegExp>();

function hostAllowed(host: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    let regExp = compiled.get(pattern);
    if (!regExp) {
      regExp = hostPatternRegExp(pattern);
      compiled.set(pattern, regExp);
    }
    return regExp.test(host);
  });
}

/**
 * Checks an endpoint against the kind's host patterns (`allowedHosts`, SPEC §8) and the exact `extraOrigins`
 * (e.g. `http://127.0.0.1:7072`).
 * `origin`: normalized, no trailing slash, no default port. `resource`: the budget key (host, plus `:port` when a
 * non-default port is given).
 */
export function checkUpstreamOrigin(
  endpoint: string,
  extraOrigins: readonly string[],
  allowedHosts: readonly string[],
): OriginCheck {
  const parsed = parseOrigin(endpoint);
  if (!parsed.ok) return parsed;
  const raw = parsed.value;
  const origin = serialize(raw);

  const extra = extraOrigins.some((candidate) => {
    const p = parseOrigin(candidate.trim());
    return p.ok && serialize(p.value) === origin;
  });
  if (extra) {
    if (raw.scheme === 'http' && !isLoopback(raw)) {
      return fail(`Endpoint ${origin} uses plain http; http is allowed only for loopback origins.`);
    }
    return confirmWithUrl(endpoint, raw, origin);
  }

  if (raw.scheme !== 'https') return fail('Endpoint must use https://.');
  if (raw.hostKind !== 'dns') return fail('Endpoint host must be a DNS name, not an IP address.');
  if (raw.port !== '' && raw.port !== '443') return fail('Endpoint must use port 443.');
  if (!hostAllowed(raw.host, allowedHosts)) {
    return fail(
      `Endpoint host '${raw.host}' is not an Azure AI services host for this kind ` +
        `(${allowedHosts.join(', ')}) and is not listed in ALLOWED_UPSTREAM_HOSTS.`,
    );
  }
  return confirmWithUrl(endpoint, raw, origin);
}

/**
 * Validates one entry of ALLOWED_UPSTREAM_HOSTS on its own (for settings validation): an exact origin, `https`
 * or loopback `http`. Returns the normalized origin.
 */
export function checkExtraOrigin(
  value: string,
): { ok: true; origin: string } | { ok: false; message: string } {
  const parsed = parseOrigin(value.trim());
  if (!parsed.ok) return parsed;
  if (parsed.value.scheme === 'http' && !isLoopback(parsed.value)) {
    return fail(`'${serialize(parsed.value)}' uses plain http; http is allowed only for loopback origins.`);
  }
  return { ok: true, origin: serialize(parsed.value) };
}

/** The budget key of a normalized origin: lowercase host, plus `:port` when the port is not the default. */
export function resourceOf(origin: string): string {
  const parsed = parseOrigin(origin);
  if (parsed.ok) return resourceKey(parsed.value);
  return origin
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/\/$/, '');
}

function resourceKey(raw: RawOrigin): string {
  return raw.port === '' ? raw.host : `${raw.host}:${raw.port}`;
}

function serialize(raw: RawOrigin): string {
  return `${raw.scheme}://${resourceKey(raw)}`;
}

/** Second opinion from WHATWG URL: it must read the same scheme, host and port, and nothing else. */
function confirmWithUrl(endpoint: string, raw: RawOrigin, origin: string): OriginCheck {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return fail('Endpoint is not a valid URL.');
  }
  const agrees =
    url.protocol === `${raw.scheme}:` &&
    url.hostname === raw.host &&
    url.port === raw.port &&
    url.username === '' &&
    url.password === '' &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === '' &&
    url.origin === origin;
  if (!agrees) return fail('Endpoint is ambiguous: it does not read the same way to every URL parser.');
  return { ok: true, origin, resource: resourceKey(raw) };
}

/** Splits `scheme://host[:port][/]` by hand, refusing everything else with a specific message. */
function parseOrigin(input: string): Parsed {
  if (typeof input !== 'string' || input.length === 0) return fail('Endpoint is required.');
  if (input.length > MAX_ENDPOINT_LENGTH) {
    return fail(`Endpoint is longer than ${MAX_ENDPOINT_LENGTH} characters.`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(input))
    return fail('Endpoint must not contain spaces or control characters.');
  if (/[^\u0021-\u007e]/.test(input)) {
    return fail('Endpoint must be plain ASCII: internationalized host names are not allowed.');
  }
  if (input.includes('%')) return fail('Endpoint must not contain percent-encoding.');
  if (input.includes('\\')) return fail('Endpoint must not contain a backslash.');

  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(input);
  if (!schemeMatch?.[1])
    return fail('Endpoint must be an absolute URL such as https://<name>.cognitiveservices.azure.com.');
  const scheme = schemeMatch[1].toLowerCase();
  if (scheme !== 'https' && scheme !== 'http') return fail('Endpoint must use https://.');

  const rest = input.slice(schemeMatch[0].length);
  const cut = rest.search(/[/?#]/);
  const authority = cut === -1 ? rest : rest.slice(0, cut);
  const tail = cut === -1 ? '' : rest.slice(cut);
  if (authority.includes('@')) return fail('Endpoint must not contain user info (user:password@).');
  if (tail !== '' && tail !== '/') {
    return fail(
      'Endpoint must be an origin only: no path, query or fragment (a single trailing / is allowed).',
    );
  }
  if (authority === '') return fail('Endpoint has no host.');

  let hostPart: string;
  let port = '';
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return fail('Endpoint host is not valid.');
    hostPart = authority.slice(0, close + 1).toLowerCase();
    const after = authority.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return fail('Endpoint host is not valid.');
      port = after.slice(1);
      if (port === '') return fail('Endpoint has an empty port.');
    }
  } else {
    const colon = authority.indexOf(':');
    hostPart = (colon === -1 ? authority : authority.slice(0, colon)).toLowerCase();
    if (colon !== -1) {
      port = authority.slice(colon + 1);
      if (port === '') return fail('Endpoint has an empty port.');
    }
  }
  if (port !== '') {
    if (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535) {
      return fail(`Endpoint port '${port}' is not valid.`);
    }
    if (port === DEFAULT_PORTS[scheme]) port = '';
  }

  const kind = hostKind(hostPart);
  if (!kind.ok) return kind;
  return {
    ok: true,
    value: { scheme, host: hostPart, port, hostKind: kind.value },
  };
}

function hostKind(host: string): { ok: true; value: RawOrigin['hostKind'] } | { ok: false; message: string } {
  if (host.startsWith('[')) {
    if (!/^\[[0-9a-f:.]+\]$/.test(host)) return fail('Endpoint IPv6 host is not valid.');
    return canonicalIpv6(host)
      ? { ok: true, value: 'ipv6' }
      : fail('Endpoint IPv6 host is not in canonical form.');
  }
  if (host.endsWith('.')) return fail('Endpoint host must not end with a dot.');
  const labels = host.split('.');
  const last = labels[labels.length - 1] ?? '';
  // WHATWG URL reads a host whose last label is numeric (decimal, octal, 0x-hex) as an IPv4 address.
  if (/^(0x[0-9a-f]*|[0-9]+)$/.test(last)) {
    return isCanonicalIpv4(host)
      ? { ok: true, value: 'ipv4' }
      : fail('Endpoint host looks like an IP address in a non-standard form; it is not allowed.');
  }
  for (const label of labels) {
    if (label === '') return fail('Endpoint host has an empty label.');
    if (label.length > 63) return fail('Endpoint host has a label longer than 63 characters.');
    if (!/^[a-z0-9-]+$/.test(label))
      return fail(`Endpoint host label '${label}' has characters other than a-z, 0-9 and -.`);
    if (label.startsWith('-') || label.endsWith('-'))
      return fail(`Endpoint host label '${label}' starts or ends with -.`);
    if (label.startsWith('xn--'))
      return fail('Endpoint host must not use internationalized (punycode xn--) labels.');
  }
  if (host.length > 253) return fail('Endpoint host is longer than 253 characters.');
  return { ok: true, value: 'dns' };
}

function isCanonicalIpv4(host: string): boolean {
  const parts = host.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

function canonicalIpv6(host: string): boolean {
  try {
    return new URL(`http://${host}/`).hostname === host;
  } catch {
    return false;
  }
}

function isLoopback(raw: RawOrigin): boolean {
  return isLoopbackHost(raw.host);
}

/** Whether a URL host is loopback: `localhost`, `127.0.0.0/8` or `[::1]` (the one check, for every setting). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
