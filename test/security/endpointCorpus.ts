/**
 * The endpoint allow-list corpus (docs/spec.md §8): endpoints that must never receive a subscription key, and the valid
 * forms of every cloud. `hostileEndpoints(localOrigin)` adds tricks on the one loopback origin that
 * ALLOWED_UPSTREAM_HOSTS lists (the simulator), since those are the nearest to being accepted.
 */

export interface CorpusEntry {
  category: string;
  endpoint: string;
}

const H = 'x.cognitiveservices.azure.com';

const STATIC_HOSTILE: Readonly<Record<string, readonly string[]>> = {
  'IPv4 literal (dotted)': [
    'https://127.0.0.1',
    'https://127.0.0.1:443',
    'https://10.0.0.1',
    'https://192.168.1.1',
    'https://8.8.8.8',
    'https://0.0.0.0',
  ],
  'IPv4 literal (decimal, hex, octal, short)': [
    'https://2130706433',
    'https://0x7f000001',
    'https://0x7F.0x0.0x0.0x1',
    'https://0177.0.0.1',
    'https://0177.0000.0000.0001',
    'https://017700000001',
    'https://127.1',
    'https://127.0.1',
    'https://0',
    'https://0x0',
  ],
  'IPv6 literal': [
    'https://[::1]',
    'https://[::1]:443',
    'https://[0:0:0:0:0:0:0:1]',
    'https://[::]',
    'https://[fe80::1]',
    'https://[fd00:ec2::254]',
    'https://[2001:db8::1]',
    'https://::1',
  ],
  'IPv4-mapped IPv6': [
    'https://[::ffff:127.0.0.1]',
    'https://[::ffff:7f00:1]',
    'https://[::ffff:169.254.169.254]',
    'https://[0:0:0:0:0:ffff:a9fe:a9fe]',
    'https://[::127.0.0.1]',
  ],
  'loopback and metadata': [
    'https://localhost',
    'http://localhost',
    'https://LOCALHOST:443',
    'https://localhost.',
    'https://169.254.169.254',
    'http://169.254.169.254',
    'http://169.254.169.254/metadata/instance?api-version=2021-02-01',
    'https://169.254.169.254/metadata/identity/oauth2/token',
    'https://168.63.129.16',
    'https://metadata.google.internal',
    'https://100.100.100.200',
    'https://localtest.me',
    'https://127.0.0.1.nip.io',
    'https://kubernetes.default.svc',
  ],
  'lookalike and suffix tricks': [
    `https://${H}.evil.com`,
    'https://evilcognitiveservices.azure.com',
    'https://cognitiveservices.azure.com',
    'https://x.cognitiveservices.azure.co',
    'https://x.cognitiveservices.azure.com.cn',
    'https://x.cognitiveservice.azure.com',
    'https://x.cognitiveservices-azure.com',
    'https://x-cognitiveservices.azure.com',
    `https://${H}-evil.com`,
    'https://a.b.cognitiveservices.azure.com',
    'https://westeurope.api.cognitive.microsoft.com.evil.net',
    'https://api.cognitive.microsoft.com',
    'https://x.cognitiveservices.azure.us.evil.com',
    'https://x.openai.azure.com',
    'https://x.vault.azure.net',
    'https://x.blob.core.windows.net',
    'https://-x.cognitiveservices.azure.com',
    'https://x-.cognitiveservices.azure.com',
    'https://x_y.cognitiveservices.azure.com',
    'https://x..cognitiveservices.azure.com',
    'https://.cognitiveservices.azure.com',
    `https://${H};evil.com`,
    `https://${H},evil.com`,
  ],
  'user info': [
    `https://user@${H}`,
    `https://user:pass@${H}`,
    `https://:@${H}`,
    `https://${H}@evil.com`,
    `https://${H}:443@evil.com`,
    `https://evil.com@${H}`,
    `https://${H}&@evil.com`,
  ],
  'other ports': [
    `https://${H}:8443`,
    `https://${H}:80`,
    `https://${H}:0`,
    `https://${H}:65536`,
    `https://${H}:0443`,
    `https://${H}:443:443`,
    `https://${H}:`,
    `https://${H}:-1`,
    `https://${H}:+443`,
  ],
  'paths, queries and fragments': [
    `https://${H}/face`,
    `https://${H}//`,
    `https://${H}/.`,
    `https://${H}/..`,
    `https://${H}/?x=1`,
    `https://${H}?x=1`,
    `https://${H}?`,
    `https://${H}#frag`,
    `https://${H}/#`,
    'https://evil.com#.cognitiveservices.azure.com',
    'https://evil.com?.cognitiveservices.azure.com',
    'https://evil.com/.cognitiveservices.azure.com',
    'https://evil.com#@x.cognitiveservices.azure.com',
    'https://evil.com\\.cognitiveservices.azure.com',
    `https://${H}\\@evil.com`,
  ],
  'non-https schemes and malformed URLs': [
    `http://${H}`,
    `HTTP://${H}`,
    `ftp://${H}`,
    'file:///etc/passwd',
    `gopher://${H}`,
    `ws://${H}`,
    `wss://${H}`,
    'data:text/plain,hello',
    'javascript:alert(1)',
    `//${H}`,
    H,
    `https:${H}`,
    `https:/${H}`,
    `https:///${H}`,
    `httpsx://${H}`,
    '',
    ` https://${H}`,
    `https://${H}\n`,
    'https://x.cognitive\tservices.azure.com',
    `https://${H}\u0000.evil.com`,
  ],
  'IDN and punycode lookalikes': [
    'https://xn--80ak6aa92e.cognitiveservices.azure.com',
    'https://x.xn--cognitiveservices-9kb.azure.com',
    'https://myf\u0430ce.cognitiveservices.azure.com',
    'https://x.cognitiveserv\u0131ces.azure.com',
    'https://x\u3002cognitiveservices.azure.com',
    'https://x\uff0ecognitiveservices.azure.com',
    'https://\uff58.cognitiveservices.azure.com',
    `https://${H}\u200b`,
    'https://x.cognitiveservices.azure.c\u043em',
  ],
  'trailing dots': [`https://${H}.`, `https://${H}./`, `https://${H}.:443`, `https://${H}..`],
  'percent-encoding tricks': [
    'https://x%2ecognitiveservices.azure.com',
    `https://${H}%2f@evil.com`,
    'https://%78.cognitiveservices.azure.com',
    `https://${H}%00`,
    'https://evil.com%23.cognitiveservices.azure.com',
    `https://${H}/%2e%2e`,
    'https://127.0.0.1%2f.cognitiveservices.azure.com',
    'https://%31%32%37.0.0.1',
  ],
  'very long hosts and endpoints': [
    `https://${'a'.repeat(64)}.cognitiveservices.azure.com`,
    `https://${`${'a'.repeat(63)}.`.repeat(4)}cognitiveservices.azure.com`,
    `https://${H}/${'a'.repeat(10_000)}`,
    `https://${'a'.repeat(15_000)}`,
  ],
};

/** Tricks on the one origin ALLOWED_UPSTREAM_HOSTS lists (plain http is accepted only for that exact origin). */
function localTricks(origin: string): readonly string[] {
  const url = new URL(origin);
  const port = Number(url.port);
  return [
    `${origin}/face`,
    `${origin}?x=1`,
    `${origin}#x`,
    `${origin}//`,
    `http://user@${url.host}`,
    `http://127.1:${port}`,
    `http://2130706433:${port}`,
    `http://0x7f000001:${port}`,
    `http://0177.0.0.1:${port}`,
    `http://localhost:${port}`,
    `http://[::1]:${port}`,
    `http://[::ffff:127.0.0.1]:${port}`,
    `http://127.0.0.1:${port + 1}`,
    `http://127.0.0.1:0${port}`,
    `http://127.0.0.1`,
    `http://127.0.0.2:${port}`,
    `https://127.0.0.1:${port}`,
    `ws://127.0.0.1:${port}`,
  ];
}

export function hostileEndpoints(localOrigin: string): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  for (const [category, endpoints] of Object.entries(STATIC_HOSTILE)) {
    for (const endpoint of endpoints) out.push({ category, endpoint });
  }
  for (const endpoint of localTricks(localOrigin)) {
    out.push({ category: 'tricks on the allowed loopback origin', endpoint });
  }
  return out;
}

/** Valid endpoints and the origin each normalizes to. */
export const VALID_ENDPOINTS: ReadonlyArray<{ endpoint: string; origin: string }> = [
  ['https://myface.cognitiveservices.azure.com', 'https://myface.cognitiveservices.azure.com'],
  ['https://myface.cognitiveservices.azure.com/', 'https://myface.cognitiveservices.azure.com'],
  ['https://myface.cognitiveservices.azure.com:443', 'https://myface.cognitiveservices.azure.com'],
  ['HTTPS://MyFace.CognitiveServices.Azure.com/', 'https://myface.cognitiveservices.azure.com'],
  ['https://a.cognitiveservices.azure.com', 'https://a.cognitiveservices.azure.com'],
  ['https://1face-2.cognitiveservices.azure.com', 'https://1face-2.cognitiveservices.azure.com'],
  [
    `https://${'a'.repeat(63)}.cognitiveservices.azure.com`,
    `https://${'a'.repeat(63)}.cognitiveservices.azure.com`,
  ],
  ['https://westeurope.api.cognitive.microsoft.com', 'https://westeurope.api.cognitive.microsoft.com'],
  ['https://myface.cognitiveservices.azure.cn', 'https://myface.cognitiveservices.azure.cn'],
  ['https://chinaeast2.api.cognitive.azure.cn', 'https://chinaeast2.api.cognitive.azure.cn'],
  ['https://api.cognitive.azure.cn', 'https://api.cognitive.azure.cn'],
  ['https://myface.cognitiveservices.azure.us', 'https://myface.cognitiveservices.azure.us'],
  ['https://usgovvirginia.api.cognitive.microsoft.us', 'https://usgovvirginia.api.cognitive.microsoft.us'],
].map(([endpoint, origin]) => ({ endpoint: endpoint!, origin: origin! }));
