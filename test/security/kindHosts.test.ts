/**
 * docs/spec.md §8 per kind: each kind sends its key only to its own host families. Azure OpenAI hosts
 * (`*.openai.azure.com`, `.us`, `.cn`) are allowed for `openai.fineTuning` only; a Speech recognition host is
 * not a management endpoint. A hostile endpoint is refused at registration (400 on `endpoint`, nothing stored)
 * and again before the call (the poller's check, with the kind's own patterns).
 */
import { describe, expect, it } from 'vitest';
import { JobsApi } from '../../shared/api/jobsApi';
import { parseRegistration } from '../../shared/api/registration';
import { systemClock } from '../../shared/clock';
import { checkUpstreamOrigin } from '../../shared/upstream/allowList';
import { getAdapter } from '../../shared/upstream/registry';
import { apiErrorOf, apiErrorOfAsync, recordingStore, registrationContext } from './support';

const JSON_TYPE = 'application/json';

/** A valid registration body of each kind checked here, without its endpoint. */
const BODIES: Readonly<Record<string, Record<string, unknown>>> = {
  'openai.fineTuning': {
    kind: 'openai.fineTuning',
    keySecretName: 'aoai-key',
    fineTuningJobId: 'ftjob-abc123',
  },
  'speech.customModel': {
    kind: 'speech.customModel',
    keySecretName: 'speech-key',
    modelId: '827712a5-f942-4997-91c3-7c6cde35600b',
  },
  'customVision.iteration': {
    kind: 'customVision.iteration',
    keySecretName: 'cv-key',
    projectId: 'b6dd673c-be9e-4911-b2f6-02237b2d4872',
    iterationId: 'a1608486-2795-499a-bf16-e9a3075e5388',
  },
};

/** Endpoints no kind checked here may receive, whatever its families. */
const HOSTILE_FOR_ALL = [
  'https://aoairesource.openai.azure.com.evil.example',
  'https://openai.azure.com',
  'https://a.b.openai.azure.com',
  'https://aoairesource.openai.azure.com:8443',
  'http://aoairesource.openai.azure.com',
  'https://user@aoairesource.openai.azure.com',
  'https://aoairesource.openai.azure.com/openai/fine_tuning/jobs',
  'https://aoairesource.openai.azure.com?x=1',
  'https://aoairesource.openai.azure.com.',
  'https://aoairesource%2eopenai.azure.com',
  'https://aoairesource.openai.azure.co',
  'https://aoairesource.openai.azure.com.cn',
  'https://aoairesource.openaiazure.com',
  'https://aoairesource.services.ai.azure.com',
  'https://westus.stt.speech.microsoft.com',
  'https://westus.tts.speech.microsoft.com',
  'https://myres.cognitiveservices.azure.com.evil.example',
  'https://20.42.0.1',
];

/** Azure OpenAI hosts: only `openai.fineTuning` may call them. */
const OPENAI_HOSTS = [
  'https://aoairesource.openai.azure.com',
  'https://gov-res.openai.azure.us',
  'https://cn-res.openai.azure.cn',
];

const CASES: Array<{ kind: string; endpoint: string }> = [
  ...Object.keys(BODIES).flatMap((kind) => HOSTILE_FOR_ALL.map((endpoint) => ({ kind, endpoint }))),
  ...['speech.customModel', 'customVision.iteration'].flatMap((kind) =>
    OPENAI_HOSTS.map((endpoint) => ({ kind, endpoint })),
  ),
];

function jobsApi(): { api: JobsApi; calls: string[] } {
  const { store, calls } = recordingStore();
  const api = new JobsApi({
    store,
    poller: {
      pollNow: () => Promise.reject(new Error('no poll')),
      withLogger: () => {
        throw new Error('no');
      },
    },
    clock: systemClock,
    ...registrationContext,
  });
  return { api, calls };
}

function hostsOf(kind: string): readonly string[] {
  const adapter = getAdapter(kind);
  if (!adapter) throw new Error(`no adapter ${kind}`);
  return adapter.allowedHosts;
}

describe('hostile endpoints per kind', () => {
  it.each(CASES)(
    'refuses $endpoint for $kind at registration, storing nothing',
    async ({ kind, endpoint }) => {
      // Prepare
      const body = JSON.stringify({ ...BODIES[kind], endpoint });
      const { api, calls } = jobsApi();

      // Act
      const parsed = apiErrorOf(() => parseRegistration(body, JSON_TYPE, registrationContext));
      const registered = await apiErrorOfAsync(() => api.register(body, JSON_TYPE, 'http://localhost'));

      // Assess
      for (const error of [parsed, registered]) {
        expect(error.status).toBe(400);
        expect(error.code).toBe('InvalidArgument');
        expect(error.target).toBe('endpoint');
      }
      expect(calls).toEqual([]);
    },
  );

  it.each(CASES)('refuses $endpoint for $kind before a call as well', ({ kind, endpoint }) => {
    expect(checkUpstreamOrigin(endpoint, [], hostsOf(kind)).ok).toBe(false);
  });

  it.each(OPENAI_HOSTS)('accepts %s for openai.fineTuning only', (endpoint) => {
    // Prepare
    const body = JSON.stringify({ ...BODIES['openai.fineTuning'], endpoint });

    // Act
    const registration = parseRegistration(body, JSON_TYPE, registrationContext);

    // Assess
    expect(registration.endpoint).toBe(endpoint);
    expect(checkUpstreamOrigin(endpoint, [], hostsOf('face.personGroup')).ok).toBe(false);
    expect(checkUpstreamOrigin(endpoint, [], hostsOf('language.textAuthoring')).ok).toBe(false);
  });

  it.each(Object.keys(BODIES))('accepts a Cognitive Services endpoint for %s', (kind) => {
    // Prepare
    const body = JSON.stringify({ ...BODIES[kind], endpoint: 'https://myres.cognitiveservices.azure.com/' });

    // Act
    const registration = parseRegistration(body, JSON_TYPE, registrationContext);

    // Assess
    expect(registration.endpoint).toBe('https://myres.cognitiveservices.azure.com');
  });
});
