/**
 * Webhook URLs that must be refused at creation (docs/spec.md §12). `hostileWebhookUrls(listedOrigin)` adds tricks on
 * the one loopback origin that ALLOWED_WEBHOOK_ORIGINS lists, since those are the nearest to being accepted.
 */

export interface WebhookUrlEntry {
  category: string;
  url: unknown;
}

const H = 'hooks.contoso.com';

const STATIC_HOSTILE: Readonly<Record<string, readonly unknown[]>> = {
  'IPv4 literal (dotted)': [
    'https://127.0.0.1/hook',
    'https://10.0.0.1/hook',
    'https://192.168.1.1/',
    'https://172.16.0.1/',
    'https://169.254.169.254/metadata/instance',
    'https://100.64.0.1/',
    'https://0.0.0.0/',
    'https://8.8.8.8/',
    'https://127.0.0.1:8443/hook',
  ],
  'IPv4 literal (decimal, hex, octal, short)': [
    'https://2130706433/',
    'https://0x7f000001/',
    'https://0x7F.0x0.0x0.0x1/',
    'https://0177.0.0.1/',
    'https://017700000001/',
    'https://127.1/',
    'https://127.0.1/',
    'https://0/',
    'https://3232235777/',
    'https://0xa9fea9fe/latest/meta-data',
    'https://169.254.43518/',
    'https://0x7f.1/',
  ],
  'IPv6 literal (loopback, mapped, link-local, unique-local, public)': [
    'https://[::1]/',
    'https://[0:0:0:0:0:0:0:1]/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:7f00:1]/',
    'https://[::ffff:a9fe:a9fe]/',
    'https://[fe80::1]/',
    'https://[fc00::1]/',
    'https://[fd00:ec2::254]/',
    'https://[::]/',
    'https://[2001:4860:4860::8888]/',
    'https://[::1]:8443/',
  ],
  'scheme other than https': [
    `http://${H}/hook`,
    `ftp://${H}/`,
    'file:///etc/passwd',
    `gopher://${H}/`,
    'javascript:alert(1)',
    'data:text/plain,hello',
    `ws://${H}/`,
    `wss://${H}/`,
    `//${H}/hook`,
    `${H}/hook`,
    `https:/${H}/`,
    `https:${H}/`,
  ],
  'user info': [
    `https://user:pass@${H}/`,
    `https://user@${H}/`,
    `https://${H}@127.0.0.1/`,
    `https://:@${H}/`,
    `https://${H}%40127.0.0.1/`,
  ],
  'names that only resolve inside a network': [
    'https://localhost/',
    'https://localhost:8443/',
    'https://LOCALHOST/',
    'https://api.localhost/',
    'https://metadata.google.internal/computeMetadata/v1/',
    'https://vault.internal/',
    'https://printer.local/',
    'https://host.localdomain/',
    'https://intranet/',
    'https://router.lan/',
    'https://router.home.arpa/',
    'https://1.0.0.127.in-addr.arpa/',
    'https://svc.corp/',
    'https://hooks.test/',
    'https://hooks.invalid/',
    'https://hooks.example/',
    'https://abcdefghijklmnop.onion/',
  ],
  'names that resolve to the address written in them': [
    'https://127.0.0.1.nip.io/',
    'https://10-0-0-1.sslip.io/',
    'https://app.localtest.me/',
    'https://lvh.me/',
    'https://7f000001.c0a80001.rbndr.us/',
  ],
  'parser confusion': [
    `https://${H}\\@127.0.0.1/`,
    `https://${H}\\.evil.com/`,
    `https://127.0.0.1#@${H}/`,
    `https://${H}/hook#fragment`,
    `https://${H}./`,
    'https://hooks%2econtoso.com/',
    `https://${H}%00.evil.com/`,
    `https://${H} /`,
    `https://${H}\n.evil.com/`,
    `https://${H}\t/`,
    'https://hооks.contoso.com/',
    'https://ho_oks.contoso.com/',
    'https://-hooks.contoso.com/',
    'https://hooks..contoso.com/',
    `https://${'a'.repeat(64)}.contoso.com/`,
  ],
  ports: [
    `https://${H}:22/`,
    `https://${H}:80/`,
    `https://${H}:25/`,
    `https://${H}:0/`,
    `https://${H}:65536/`,
    `https://${H}:0443/`,
    `https://${H}:/`,
    `https://${H}:443abc/`,
    `https://${H}:-1/`,
  ],
  'size and type': [
    `https://${H}/${'a'.repeat(2100)}`,
    `https://${'a.'.repeat(130)}com/`,
    '',
    ' ',
    42,
    null,
    true,
    [`https://${H}/`],
    { href: `https://${H}/` },
  ],
};

export function hostileWebhookUrls(listedOrigin: string): WebhookUrlEntry[] {
  const listed = new URL(listedOrigin);
  const port = Number(listed.port);
  const onListed: string[] = [
    `${listedOrigin}@evil.contoso.com/`,
    `http://127.0.0.1:${port + 1}/hook`,
    `http://localhost:${port}/hook`,
    `http://127.0.0.2:${port}/hook`,
    `http://[::1]:${port}/hook`,
    `http://2130706433:${port}/hook`,
    `http://0x7f.1:${port}/hook`,
    `http://user:pw@127.0.0.1:${port}/hook`,
    `${listedOrigin}/hook#frag`,
    `https://127.0.0.1:${port}/hook`,
  ];
  return [
    ...Object.entries(STATIC_HOSTILE).flatMap(([category, urls]) => urls.map((url) => ({ category, url }))),
    ...onListed.map((url) => ({ category: 'tricks on the listed loopback origin', url })),
  ];
}
