/**
 * Which webhook URLs a subscription may name (docs/spec.md §12): `https://` and a public DNS name, or an exact
 * origin of `ALLOWED_WEBHOOK_ORIGINS` (plain `http` only for loopback ones, checked when the settings are read).
 *
 * This is the check at creation. It refuses what can be refused from the text alone: IP literals in every form a
 * URL parser accepts (dotted, decimal, octal, hex, short forms, IPv6 and IPv4-mapped IPv6), user info, names that
 * only resolve inside a network (`localhost`, `.internal`, `.local`, ...) and known wildcard names that resolve
 * to loopback. A public-looking name can still resolve to a private address (or be re-pointed later): the address
 * is checked again on the connection at delivery time.
 *
 * The raw string is read by hand first, because WHATWG `URL` silently rewrites hosts (`0x7f.1` → `127.0.0.1`,
 * `%2e`, a trailing dot, IDN to punycode, `\` to `/`); `URL` is then a second opinion that must agree.
 */

/** Longest webhook URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;
/** Explicit ports below this (other than 443) are refused: well-known services, not webhook receivers. */
export const MIN_EXPLICIT_PORT = 1024;

export type WebhookUrlCheck =
  | {
      ok: true;
      /** The URL as stored and called (`URL.href`: lowercase scheme and host, default port dropped). */
      url: string;
      /** `scheme://host[:port]`. */
      origin: string;
      /** Allowed as an exact `ALLOWED_WEBHOOK_ORIGINS` origin rather than by the public-name rules. */
      listedOrigin: boolean;
    }
  | { ok: false; message: string };

/**
 * Top-level names that never reach a public host (RFC 6761, RFC 6762, RFC 8375, RFC 9476, ICANN's `.internal`,
 * and the private TLDs in common use), refused as the last label of a webhook host.
 */
const PRIVATE_TLDS = new Set([
  'localhost',
  'local',
  'localdomain',
  'internal',
  'intranet',
  'private',
  'corp',
  'home',
  'lan',
  'test',
  'invalid',
  'example',
  'onion',
  'alt',
  'arpa',
]);

/**
 * Wildcard DNS services whose names resolve to the address written in them (`127.0.0.1.nip.io`) or to loopback
 * (`*.localtest.me`): refused at creation with a clear message (the connection check would refuse them anyway).
 */
const ADDRESS_ECHO_DOMAINS = [
  'nip.io',
  'sslip.io',
  'xip.io',
  'localtest.me',
  'lvh.me',
  'vcap.me',
  'traefik.me',
  'localh.st',
  'rbndr.us',
  '1u.ms',
];

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

/**
 * Checks a webhook URL at creation. `allowedOrigins`: the normalized `ALLOWED_WEBHOOK_ORIGINS`
 * (`config.notifications.allowedWebhookOrigins`, e.g. `http://127.0.0.1:9000`).
 */
export function checkWebhookUrl(input: unknown, allowedOrigins: readonly string[]): WebhookUrlCheck {
  if (typeof input !== 'string' || input === '') return fail("'url' is required: an https:// URL.");
  if (input.length > MAX_WEBHOOK_URL_LENGTH) {
    return fail(`The URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters.`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(input))
    return fail('The URL must not contain spaces or control characters.');
  if (/[^\u0021-\u007e]/.test(input)) {
    return fail('The URL must be plain ASCII: internationalized names must be written in punycode.');
  }
  if (input.includes('\\')) return fail('The URL must not contain a backslash.');

  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(input)?.[1]?.toLowerCase();
  if (scheme === undefined) return fail('The URL must be absolute: https://<host>/<path>.');
  if (scheme !== 'https' && scheme !== 'http') return fail('The URL must use https://.');
  const rest = input.slice(scheme.length + 3);
  const cut = rest.search(/[/?#]/);
  const authority = cut === -1 ? rest : rest.slice(0, cut);
  const tail = cut === -1 ? '' : rest.slice(cut);
  if (authority.includes('@')) return fail('The URL must not contain user info (user:password@).');
  if (authority.includes('%')) return fail('The URL host must not contain percent-encoding.');
  if (tail.includes('#')) return fail('The URL must not have a fragment (#...): it is never sent.');
  if (authority === '') return fail('The URL has no host.');

  const split = splitAuthority(authority);
  if (!split.ok) return split;
  const { host, port } = split;
  const origin = `${scheme}://${host}${port === '' ? '' : `:${port}`}`;

  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail('The URL is not valid.');
  }
  if (url.username !== '' || url.password !== '') return fail('The URL must not contain user info.');

  const listedOrigin = allowedOrigins.includes(origin);
  if (!listedOrigin) {
    if (scheme !== 'https')
      return fail('The URL must use https:// (plain http only for listed loopback origins).');
    const name = checkPublicName(host);
    if (!name.ok) return name;
    if (port !== '' && port !== '443' && Number(port) < MIN_EXPLICIT_PORT) {
      return fail(`Port ${port} is not allowed: use 443 or a port from ${MIN_EXPLICIT_PORT} to 65535.`);
    }
  }
  // Second opinion: WHATWG URL must read the same origin (no silent rewriting of the host).
  if (url.origin !== origin) {
    return fail('The URL is ambiguous: it does not read the same way to every URL parser.');
  }
  return { ok: true, url: url.href, origin, listedOrigin };
}

/** Splits `host[:port]` (or `[v6][:port]`); the port without leading zeros, '' when absent or the default. */
function splitAuthority(
  authority: string,
): { ok: true; host: string; port: string } | { ok: false; message: string } {
  let host: string;
  let port = '';
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return fail('The URL host is not valid.');
    host = authority.slice(0, close + 1).toLowerCase();
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return fail('The URL host is not valid.');
    port = after.slice(1);
    if (after !== '' && port === '') return fail('The URL has an empty port.');
  } else {
    const colon = authority.indexOf(':');
    host = (colon === -1 ? authority : authority.slice(0, colon)).toLowerCase();
    if (colon !== -1) {
      port = authority.slice(colon + 1);
      if (port === '') return fail('The URL has an empty port.');
    }
  }
  if (port !== '' && (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535)) {
    return fail(`The URL port '${port.slice(0, 16)}' is not valid.`);
  }
  if (port === '443') port = '';
  return { ok: true, host, port };
}

/** A public DNS name: no IP literal in any form, no private-only or address-echo name. */
function checkPublicName(host: string): { ok: true } | { ok: false; message: string } {
  if (host.startsWith('[') || host.includes(':')) {
    return fail('The URL host must be a DNS name, not an IPv6 address.');
  }
  if (host.endsWith('.')) return fail('The URL host must not end with a dot.');
  const labels = host.split('.');
  const last = labels[labels.length - 1] ?? '';
  // WHATWG URL reads a host whose last label is numeric (decimal, octal, 0x-hex) as an IPv4 address.
  if (/^(0x[0-9a-f]*|[0-9]+)$/.test(last)) {
    return fail('The URL host must be a DNS name, not an IP address (in any notation).');
  }
  for (const label of labels) {
    if (label === '') return fail('The URL host has an empty label.');
    if (label.length > 63) return fail('The URL host has a label longer than 63 characters.');
    if (!/^[a-z0-9-]+$/.test(label)) {
      return fail(`The URL host label '${label.slice(0, 63)}' has characters other than a-z, 0-9 and -.`);
    }
    if (label.startsWith('-') || label.endsWith('-')) {
      return fail(`The URL host label '${label}' starts or ends with -.`);
    }
  }
  if (host.length > 253) return fail('The URL host is longer than 253 characters.');
  if (labels.length < 2) {
    return fail(`The URL host '${host}' is a single-label name: it only resolves inside a network.`);
  }
  if (PRIVATE_TLDS.has(last)) {
    return fail(`The URL host '${host}' is under .${last}, which never reaches a public host.`);
  }
  const echo = ADDRESS_ECHO_DOMAINS.find((domain) => host === domain || host.endsWith(`.${domain}`));
  if (echo !== undefined) {
    return fail(`The URL host is under ${echo}, whose names resolve to the address written in them.`);
  }
  return { ok: true };
}
