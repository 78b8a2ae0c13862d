import { describe, expect, it } from 'vitest';
import { checkExtraOrigin, checkUpstreamOrigin, resourceOf } from '../../shared/upstream/allowList';
import { COGNITIVE_SERVICES_HOSTS as HOSTS } from '../../shared/upstream/hosts';

const NO_EXTRA: readonly string[] = [];

function refusal(endpoint: string, extra: readonly string[] = NO_EXTRA): string {
  const result = checkUpstreamOrigin(endpoint, extra, HOSTS);
  if (result.ok) throw new Error(`expected ${JSON.stringify(endpoint)} to be refused, got ${result.origin}`);
  return result.message;
}

describe('checkUpstreamOrigin: accepted endpoints', () => {
  it.each([
    ['https://myface.cognitiveservices.azure.com'],
    ['https://westeurope.api.cognitive.microsoft.com'],
    ['https://myface.cognitiveservices.azure.cn'],
    ['https://chinaeast2.api.cognitive.azure.cn'],
    ['https://api.cognitive.azure.cn'],
    ['https://myface.cognitiveservices.azure.us'],
    ['https://usgovvirginia.api.cognitive.microsoft.us'],
    ['https://my-face-01.cognitiveservices.azure.com'],
  ])('accepts the cloud host %s', (endpoint) => {
    expect(checkUpstreamOrigin(endpoint, NO_EXTRA, HOSTS)).toEqual({
      ok: true,
      origin: endpoint,
      resource: endpoint.slice('https://'.length),
    });
  });

  it('accepts a single trailing slash and returns the origin without it', () => {
    expect(checkUpstreamOrigin('https://myface.cognitiveservices.azure.com/', NO_EXTRA, HOSTS)).toEqual({
      ok: true,
      origin: 'https://myface.cognitiveservices.azure.com',
      resource: 'myface.cognitiveservices.azure.com',
    });
  });

  it('accepts an explicit :443 and drops it from origin and resource', () => {
    expect(checkUpstreamOrigin('https://myface.cognitiveservices.azure.com:443/', NO_EXTRA, HOSTS)).toEqual({
      ok: true,
      origin: 'https://myface.cognitiveservices.azure.com',
      resource: 'myface.cognitiveservices.azure.com',
    });
  });

  it('compares scheme and host case-insensitively and returns them lowercase', () => {
    expect(checkUpstreamOrigin('HTTPS://MyFace.CognitiveServices.Azure.COM', NO_EXTRA, HOSTS)).toEqual({
      ok: true,
      origin: 'https://myface.cognitiveservices.azure.com',
      resource: 'myface.cognitiveservices.azure.com',
    });
  });

  it('accepts a resource name of 63 characters and refuses one of 64', () => {
    expect(
      checkUpstreamOrigin(`https://${'a'.repeat(63)}.cognitiveservices.azure.com`, NO_EXTRA, HOSTS).ok,
    ).toBe(true);
    expect(refusal(`https://${'a'.repeat(64)}.cognitiveservices.azure.com`)).toMatch(/63/);
  });
});

describe('checkUpstreamOrigin: refused endpoints', () => {
  it('refuses plain http for an Azure host', () => {
    expect(refusal('http://myface.cognitiveservices.azure.com')).toMatch(/https/);
  });

  it.each([
    ['https://user:secret@myface.cognitiveservices.azure.com'],
    ['https://user@myface.cognitiveservices.azure.com'],
    ['https://myface.cognitiveservices.azure.com@evil.example'],
    ['https://myface.cognitiveservices.azure.com:443@evil.example'],
  ])('refuses an endpoint with user info: %s', (endpoint) => {
    expect(refusal(endpoint)).toMatch(/user info/);
  });

  it.each([
    ['https://myface.cognitiveservices.azure.com/face/v1.0'],
    ['https://myface.cognitiveservices.azure.com//'],
    ['https://myface.cognitiveservices.azure.com/?x=1'],
    ['https://myface.cognitiveservices.azure.com?x=1'],
    ['https://myface.cognitiveservices.azure.com#frag'],
    ['https://myface.cognitiveservices.azure.com/#'],
    ['https://evil.example/.cognitiveservices.azure.com'],
    ['https://evil.example?.cognitiveservices.azure.com'],
    ['https://evil.example#.cognitiveservices.azure.com'],
  ])('refuses a path, query or fragment: %s', (endpoint) => {
    expect(refusal(endpoint)).toMatch(/no path, query or fragment/);
  });

  it.each([
    ['https://myface.cognitiveservices.azure.com:8443', /port 443/],
    ['https://myface.cognitiveservices.azure.com:80', /port 443/],
    ['https://myface.cognitiveservices.azure.com:0443', /port '0443' is not valid/],
    ['https://myface.cognitiveservices.azure.com:', /empty port/],
    ['https://myface.cognitiveservices.azure.com:99999', /not valid/],
    ['https://myface.cognitiveservices.azure.com:44a', /not valid/],
  ])('refuses a port other than 443: %s', (endpoint, message) => {
    expect(refusal(endpoint)).toMatch(message);
  });

  it('refuses a trailing dot on the host', () => {
    expect(refusal('https://myface.cognitiveservices.azure.com.')).toMatch(/must not end with a dot/);
    expect(refusal('https://myface.cognitiveservices.azure.com./')).toMatch(/must not end with a dot/);
  });

  it.each([
    ['https://127.0.0.1', /IP address/],
    ['https://2130706433', /IP address/],
    ['https://0x7f000001', /IP address/],
    ['https://0177.0.0.1', /IP address/],
    ['https://127.1', /IP address/],
    ['https://1.2.3.4.cognitiveservices.azure.com.1', /IP address/],
    ['https://[::1]', /IP address/],
    ['https://[::ffff:7f00:1]', /IP address|canonical/],
  ])('refuses an IP literal: %s', (endpoint, message) => {
    expect(refusal(endpoint)).toMatch(message);
  });

  it.each([
    ['https://myface%2ecognitiveservices.azure.com'],
    ['https://my%66ace.cognitiveservices.azure.com'],
    ['https://evil.example%2f.cognitiveservices.azure.com'],
  ])('refuses percent-encoding: %s', (endpoint) => {
    expect(refusal(endpoint)).toMatch(/percent-encoding/);
  });

  it.each([
    ['https://mÿface.cognitiveservices.azure.com', /plain ASCII/],
    ['https://myface．cognitiveservices.azure.com', /plain ASCII/],
    ['https://myface。cognitiveservices.azure.com', /plain ASCII/],
    ['https://xn--myfce-3qa.cognitiveservices.azure.com', /punycode/],
    ['https://myface.xn--cognitiveservices-abc.azure.com', /punycode/],
  ])('refuses an internationalized host: %s', (endpoint, message) => {
    expect(refusal(endpoint)).toMatch(message);
  });

  it.each([
    ['https://myface.cognitiveservices.azure.com.evil.example'],
    ['https://evilcognitiveservices.azure.com'],
    ['https://cognitiveservices.azure.com'],
    ['https://a.b.cognitiveservices.azure.com'],
    ['https://myface.cognitiveservices.azure.org'],
    ['https://westeurope.api.cognitive.microsoft.cn'],
    ['https://myface.openai.azure.com'],
    ['https://evil.example'],
    ['https://localhost'],
  ])('refuses a host outside the allow-list: %s', (endpoint) => {
    expect(refusal(endpoint)).toMatch(/is not an Azure AI services host/);
  });

  it.each([
    ['https://-myface.cognitiveservices.azure.com', /starts or ends with -/],
    ['https://myface-.cognitiveservices.azure.com', /starts or ends with -/],
    ['https://my_face.cognitiveservices.azure.com', /characters other than/],
    ['https://my*face.cognitiveservices.azure.com', /characters other than/],
    ['https://myface..cognitiveservices.azure.com', /empty label/],
  ])('refuses a malformed DNS label: %s', (endpoint, message) => {
    expect(refusal(endpoint)).toMatch(message);
  });

  it.each([
    ['https://evil.example\\.cognitiveservices.azure.com', /backslash/],
    ['https://myface.cognitiveservices.azure.com\\@evil.example', /backslash/],
    [' https://myface.cognitiveservices.azure.com', /spaces or control/],
    ['https://myface.cognitiveservices.azure.com\n', /spaces or control/],
    ['https://myface.cogni\tiveservices.azure.com', /spaces or control/],
    ['https://myface.cognitiveservices.azure.com\u0000', /spaces or control/],
  ])('refuses backslashes, whitespace and control characters: %j', (endpoint, message) => {
    expect(refusal(endpoint)).toMatch(message);
  });

  it.each([
    ['myface.cognitiveservices.azure.com', /absolute URL/],
    ['//myface.cognitiveservices.azure.com', /absolute URL/],
    ['https:/myface.cognitiveservices.azure.com', /absolute URL/],
    ['https:myface.cognitiveservices.azure.com', /absolute URL/],
    ['ftp://myface.cognitiveservices.azure.com', /https/],
    ['javascript://myface.cognitiveservices.azure.com', /https/],
    ['https://', /no host/],
    ['', /required/],
  ])('refuses what is not an absolute https origin: %j', (endpoint, message) => {
    expect(refusal(endpoint)).toMatch(message);
  });

  it('refuses an endpoint over the length cap', () => {
    const endpoint = `https://${'a.'.repeat(200)}cognitiveservices.azure.com`;

    expect(refusal(endpoint)).toMatch(/longer than 300/);
  });
});

describe('checkUpstreamOrigin: extra origins', () => {
  const extra = [
    'http://127.0.0.1:7072',
    'http://localhost:7073',
    'http://[::1]:7074',
    'https://sim.example.test:8443',
  ];

  it.each([
    ['http://127.0.0.1:7072', 'http://127.0.0.1:7072', '127.0.0.1:7072'],
    ['http://127.0.0.1:7072/', 'http://127.0.0.1:7072', '127.0.0.1:7072'],
    ['http://LOCALHOST:7073', 'http://localhost:7073', 'localhost:7073'],
    ['http://[::1]:7074', 'http://[::1]:7074', '[::1]:7074'],
    ['https://sim.example.test:8443/', 'https://sim.example.test:8443', 'sim.example.test:8443'],
  ])('accepts %s when it is listed exactly', (endpoint, origin, resource) => {
    expect(checkUpstreamOrigin(endpoint, extra, HOSTS)).toEqual({ ok: true, origin, resource });
  });

  it('keeps the Azure allow-list working beside extra origins', () => {
    expect(checkUpstreamOrigin('https://myface.cognitiveservices.azure.com', extra, HOSTS).ok).toBe(true);
  });

  it('refuses a listed host on another port', () => {
    expect(refusal('http://127.0.0.1:7073', extra)).toMatch(/https/);
  });

  it('refuses a listed origin with a path', () => {
    expect(refusal('http://127.0.0.1:7072/face', extra)).toMatch(/no path/);
  });

  it.each([
    ['http://2130706433:7072'],
    ['http://0x7f000001:7072'],
    ['http://127.1:7072'],
    ['http://127.0.0.01:7072'],
  ])('refuses a listed loopback address written another way: %s', (endpoint) => {
    expect(refusal(endpoint, extra)).toMatch(/IP address/);
  });

  it('refuses plain http for a listed origin that is not loopback', () => {
    expect(refusal('http://sim.example.test:7072', ['http://sim.example.test:7072'])).toMatch(/loopback/);
  });

  it('refuses a listed https host on a port that is not listed', () => {
    expect(refusal('https://sim.example.test:8444', extra)).toMatch(/port 443|not an Azure/);
  });

  it('does not accept a listed origin given with user info', () => {
    expect(refusal('http://user@127.0.0.1:7072', extra)).toMatch(/user info/);
  });

  it('accepts the whole 127.0.0.0/8 range as loopback', () => {
    expect(checkUpstreamOrigin('http://127.10.20.30:9000', ['http://127.10.20.30:9000'], HOSTS)).toEqual({
      ok: true,
      origin: 'http://127.10.20.30:9000',
      resource: '127.10.20.30:9000',
    });
  });

  it('drops the default http port from a loopback origin', () => {
    expect(checkUpstreamOrigin('http://localhost:80', ['http://localhost'], HOSTS)).toEqual({
      ok: true,
      origin: 'http://localhost',
      resource: 'localhost',
    });
  });
});

describe('checkExtraOrigin', () => {
  it('normalizes a valid loopback origin', () => {
    expect(checkExtraOrigin(' http://LocalHost:7072/ ')).toEqual({
      ok: true,
      origin: 'http://localhost:7072',
    });
  });

  it('refuses a plain http origin that is not loopback', () => {
    const result = checkExtraOrigin('http://10.0.0.5:7072');

    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.message).toMatch(/loopback/);
  });

  it('refuses an origin with a path', () => {
    expect(checkExtraOrigin('http://127.0.0.1:7072/api')).toMatchObject({ ok: false });
  });
});

describe('resourceOf', () => {
  it.each([
    ['https://myface.cognitiveservices.azure.com', 'myface.cognitiveservices.azure.com'],
    ['https://MyFace.cognitiveservices.azure.com:443', 'myface.cognitiveservices.azure.com'],
    ['http://127.0.0.1:7072', '127.0.0.1:7072'],
    ['http://[::1]:7074', '[::1]:7074'],
    ['https://sim.example.test:8443', 'sim.example.test:8443'],
  ])('gives the budget key of %s', (origin, resource) => {
    expect(resourceOf(origin)).toBe(resource);
  });
});

describe('checkUpstreamOrigin: the kind decides the host families', () => {
  it('refuses an Azure OpenAI host for a kind that allows only the Cognitive Services families', () => {
    // Prepare / Act
    const result = checkUpstreamOrigin('https://contoso.openai.azure.com', NO_EXTRA, HOSTS);

    // Assess
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.message).toMatch(/not an Azure AI services host for this kind/);
  });

  it('accepts the same host for a kind that lists its family', () => {
    const openAi = [...HOSTS, '*.openai.azure.com'];
    expect(checkUpstreamOrigin('https://contoso.openai.azure.com', NO_EXTRA, openAi)).toEqual({
      ok: true,
      origin: 'https://contoso.openai.azure.com',
      resource: 'contoso.openai.azure.com',
    });
  });

  it.each([
    ['https://openai.azure.com'],
    ['https://a.b.openai.azure.com'],
    ['https://contoso.openai.azure.com.evil.example'],
  ])('a wildcard stands for exactly one DNS label: %s is refused', (endpoint) => {
    expect(checkUpstreamOrigin(endpoint, NO_EXTRA, ['*.openai.azure.com']).ok).toBe(false);
  });
});
