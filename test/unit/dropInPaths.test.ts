/**
 * Drop-in URLs (docs/spec.md §13): the upstream path and query of §2, for every kind and every api version it
 * supports, map to the kind, version and identity of one job, whose id is the registration's; anything else maps to
 * nothing (the route answers the upstream's 404), whatever trick the path or query plays.
 */
import { describe, expect, it } from 'vitest';
import { sampleIdentityOf } from '../../dev/simulator/registry';
import { jobIdOf } from '../../shared/api/registration';
import { endpointFor, parseDropInUrl } from '../../shared/dropIn/paths';
import { listAdapters } from '../../shared/upstream/registry';
import type { JobAdapter } from '../../shared/upstream/types';

const HOST = 'http://localhost:7071';
const RESOURCE = 'myres.cognitiveservices.azure.com';
const adapters = listAdapters();

function urlOf(adapter: JobAdapter, identity: Record<string, string>, version: string, resource = RESOURCE) {
  return adapter.buildUrl(`${HOST}/api/upstream/${resource}`, identity, version);
}

const cases = adapters.flatMap((adapter) =>
  adapter.apiVersions.map((version) => [adapter.kind, version, adapter] as const),
);

describe('drop-in URL of every kind and api version', () => {
  it.each(cases)('%s %s maps to the job the registration would make', (_kind, version, adapter) => {
    // Prepare
    const identity = sampleIdentityOf(adapter.kind, 'unit-path');
    const endpoint = `https://${RESOURCE}`;

    // Act
    const parsed = parseDropInUrl(urlOf(adapter, identity, version), adapters);

    // Assess
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.resource).toBe(RESOURCE);
    expect(parsed.target.adapter.kind).toBe(adapter.kind);
    expect(parsed.target.apiVersion).toBe(version);
    expect(parsed.target.identity).toEqual(identity);
    const resolved = endpointFor(parsed.resource, [], parsed.target.adapter);
    expect(resolved).toBe(endpoint);
    expect(jobIdOf(adapter.kind, resolved!, parsed.target.identity, adapter)).toBe(
      jobIdOf(adapter.kind, endpoint, identity, adapter),
    );
  });

  it.each(cases)('%s %s: the literal segments match in any letter case', (_kind, version, adapter) => {
    // Prepare
    const identity = sampleIdentityOf(adapter.kind, 'unit-case');
    const url = new URL(urlOf(adapter, identity, version));
    const values = new Set(Object.values(identity).map((v) => encodeURIComponent(v)));
    const upper = url.pathname
      .split('/')
      .map((s, i) => (i < 4 || values.has(s) ? s : s.toUpperCase()))
      .join('/');

    // Act
    const parsed = parseDropInUrl(`${url.origin}${upper}${url.search}`, adapters);

    // Assess
    expect(parsed.ok && parsed.target.identity).toEqual(identity);
  });
});

describe('drop-in URL tricks', () => {
  const face = adapters.find((a) => a.kind === 'face.personGroup')!;
  const language = adapters.find((a) => a.kind === 'language.textAuthoring')!;
  const faceBase = `${HOST}/api/upstream/${RESOURCE}/face/v1.0/persongroups`;
  const languageBase = `${HOST}/api/upstream/${RESOURCE}/language/authoring/analyze-text/projects/p/train/jobs/j`;

  it.each([
    [
      'a traversal to a sibling route',
      `${faceBase}/g/../../largepersongroups/g/training`,
      'face.largePersonGroup',
    ],
    ['an encoded traversal', `${faceBase}/%2E%2e/largefacelists/l/training`, 'face.largeFaceList'],
    ['a traversal out of the drop-in prefix', `${faceBase}/../../../../../jobs`, undefined],
    [
      'an encoded traversal out of the prefix',
      `${faceBase}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/health`,
      undefined,
    ],
  ])('resolves %s before matching: one exact route of its own, or nothing', (_name, url, kind) => {
    // Act
    const parsed = parseDropInUrl(url, adapters);

    // Assess: dot segments are resolved as every URL parser (and the host) resolves them
    expect(parsed.ok ? parsed.target.adapter.kind : undefined).toBe(kind);
  });

  it.each([
    ['an encoded slash in an id', `${faceBase}/a%2Fb/training`],
    ['an encoded backslash in an id', `${faceBase}/a%5Cb/training`],
    ['a double slash', `${faceBase}//g/training`],
    ['a trailing slash', `${faceBase}/g/training/`],
    ['an extra segment', `${faceBase}/g/training/extra`],
    ['a missing segment', `${faceBase}/training`],
    ['a malformed escape', `${faceBase}/g%zz/training`],
    ['an upper-case Face id', `${faceBase}/Group/training`],
    [
      'an unknown api version in the path',
      `${HOST}/api/upstream/${RESOURCE}/face/v9.9/persongroups/g/training`,
    ],
    ['an unknown service', `${HOST}/api/upstream/${RESOURCE}/vision/v1.0/persongroups/g/training`],
    ['no api-version', languageBase],
    ['an unsupported api-version', `${languageBase}?api-version=2099-01-01`],
    ['two api-versions', `${languageBase}?api-version=2022-05-01&api-version=2023-04-01`],
    ['an api-version with a smuggled parameter', `${languageBase}?api-version=2022-05-01%26x%3D1`],
    ['an encoded slash in a Language id', `${languageBase}%2F..%2Fother?api-version=2022-05-01`],
    ['a resource with a path in it', `${HOST}/api/upstream/a%2Fb/face/v1.0/persongroups/g/training`],
    ['a resource with user info', `${HOST}/api/upstream/user@${RESOURCE}/face/v1.0/persongroups/g/training`],
    ['an empty resource', `${HOST}/api/upstream//face/v1.0/persongroups/g/training`],
    ['another route prefix', `${HOST}/api/jobs/${RESOURCE}/face/v1.0/persongroups/g/training`],
  ])('maps %s to nothing', (_name, url) => {
    // Act
    const parsed = parseDropInUrl(url, adapters);

    // Assess
    expect(parsed.ok).toBe(false);
  });

  it('ignores query parameters the route does not name, and reads api-version only once', () => {
    // Act
    const parsed = parseDropInUrl(`${languageBase}?api-version=2023-04-01&top=1&%24filter=x`, adapters);

    // Assess
    expect(parsed.ok && [parsed.target.adapter.kind, parsed.target.apiVersion]).toEqual([
      language.kind,
      '2023-04-01',
    ]);
  });

  it('reads the resource host in any letter case, as its lowercase budget key', () => {
    // Act
    const parsed = parseDropInUrl(
      urlOf(face, { personGroupId: 'g' }, 'v1.2', 'MyRes.CognitiveServices.Azure.com'),
      adapters,
    );

    // Assess
    expect(parsed.ok && parsed.resource).toBe(RESOURCE);
  });

  it.each([
    ['a host no kind may call', 'evil.example.com', []],
    ['an IP address not listed in ALLOWED_UPSTREAM_HOSTS', '10.0.0.1', []],
    ['another port than the listed origin', '127.0.0.1:7073', ['http://127.0.0.1:7072']],
    ['port 443 spelled out', `${RESOURCE}:443`, []],
  ])('resolves no endpoint for %s', (_name, resource, extra) => {
    // Act
    const endpoint = endpointFor(resource, extra, face);

    // Assess
    expect(endpoint).toBeUndefined();
  });

  it('resolves a listed loopback origin with its scheme and port', () => {
    // Act
    const endpoint = endpointFor('127.0.0.1:7072', ['http://127.0.0.1:7072'], face);

    // Assess
    expect(endpoint).toBe('http://127.0.0.1:7072');
  });
});
