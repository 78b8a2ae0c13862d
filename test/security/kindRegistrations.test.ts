/**
 * docs/spec.md §2 / §7 / §8 for every kind of the registry: a registration is validated by its kind's identity rules
 * (400 with the field as `target`), a field of another kind is refused, and each kind sends its key only to its
 * own host families (an Azure OpenAI host for a Face kind is refused). Nothing is stored on a refusal.
 */
import { describe, expect, it } from 'vitest';
import { JobsApi } from '../../shared/api/jobsApi';
import { parseRegistration } from '../../shared/api/registration';
import { systemClock } from '../../shared/clock';
import { sampleIdentityOf } from '../../dev/simulator/registry';
import { listAdapters } from '../../shared/upstream/registry';
import type { JobAdapter } from '../../shared/upstream/types';
import { apiErrorOf, apiErrorOfAsync, LOCAL_ORIGIN, recordingStore, registrationContext } from './support';

const ADAPTERS = listAdapters().map((adapter) => [adapter.kind, adapter] as const);

function validBody(adapter: JobAdapter, endpoint = LOCAL_ORIGIN): Record<string, unknown> {
  return { kind: adapter.kind, endpoint, keySecretName: 'k1', ...sampleIdentityOf(adapter.kind, 'valid-1') };
}

const parse = (body: Record<string, unknown>): unknown =>
  parseRegistration(JSON.stringify(body), 'application/json', registrationContext);

/** Values every kind's rule refuses (docs/spec.md §2: no path characters, no control characters, not empty). */
const HOSTILE_VALUES = [
  '',
  'a/b',
  'a?b',
  'a#b',
  'a%2fb',
  'a\\b',
  'a\u0000b',
  '..',
  'x'.repeat(201),
  42,
  null,
];

/** Hosts of another kind's family, or no Azure AI host at all. */
const FOREIGN_HOSTS = [
  'https://contoso.openai.azure.com',
  'https://contoso.openai.azure.us',
  'https://contoso.openai.azure.cn',
  'https://westeurope.stt.speech.microsoft.com',
  'https://contoso.azurewebsites.net',
];

describe.each(ADAPTERS)('%s registrations', (kind, adapter) => {
  it('accepts a valid body and keeps exactly its identity fields', () => {
    const registration = parse(validBody(adapter)) as { kind: string; identity: Record<string, string> };
    expect(registration.kind).toBe(kind);
    expect(Object.keys(registration.identity)).toEqual([...adapter.identityFields]);
  });

  it.each(adapter.identityFields.flatMap((field) => HOSTILE_VALUES.map((value) => [field, value] as const)))(
    'refuses %s = %j with a 400 on that field',
    (field, value) => {
      const error = apiErrorOf(() => parse({ ...validBody(adapter), [field]: value }));
      expect(error.status).toBe(400);
      expect(error.target).toBe(field);
    },
  );

  it('refuses each identity field of another kind, naming that kind', () => {
    const foreign = listAdapters()
      .filter((other) => other.kind !== kind)
      .flatMap((other) => other.identityFields.filter((f) => !adapter.identityFields.includes(f)));
    for (const field of new Set(foreign)) {
      const error = apiErrorOf(() => parse({ ...validBody(adapter), [field]: 'value-1' }));
      expect(error.target, field).toBe(field);
      expect(error.message, field).toMatch(/belongs to kind/);
    }
  });

  it.each(
    FOREIGN_HOSTS.filter((host) => !adapter.allowedHosts.some((p) => host.endsWith(p.replace('*', '')))),
  )('refuses the endpoint %s, outside its host families', (endpoint) => {
    const error = apiErrorOf(() => parse(validBody(adapter, endpoint)));
    expect(error.target).toBe('endpoint');
  });

  it('stores nothing when a registration is refused', async () => {
    // Prepare
    const recording = recordingStore();
    const api = new JobsApi({
      ...registrationContext,
      store: recording.store,
      clock: systemClock,
      poller: {
        pollNow: () => Promise.reject(new Error('no poll')),
        withLogger: () => {
          throw new Error('no');
        },
      },
    });
    const body = { ...validBody(adapter), [adapter.identityFields[0]!]: 'a/b' };

    // Act
    const error = await apiErrorOfAsync(() =>
      api.register(JSON.stringify(body), 'application/json', 'http://x'),
    );

    // Assess
    expect(error.status).toBe(400);
    expect(recording.calls).toEqual([]);
  });
});
