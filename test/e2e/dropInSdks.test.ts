/**
 * Official SDKs, unchanged but for their endpoint, read training status through the drop-in routes (docs/spec.md
 * §13) and parse the cached upstream body with their own code. Each client runs first straight against the simulated
 * upstream (which checks the simulator's shapes against the SDK's models), then against the cache; through the
 * cache the upstream receives no call from the client.
 */
import createFaceClient, { isUnexpected } from '@azure-rest/ai-vision-face';
import { TrainingAPIClient } from '@azure/cognitiveservices-customvision-training';
import { FaceClient } from '@azure/cognitiveservices-face';
import { ApiKeyCredentials } from '@azure/ms-rest-js';
import { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addRun,
  CLIENT_TARGETS,
  endpointFor,
  prepareFor,
  upstreamCallsDuring,
  type ClientTarget,
} from '../support/dropIn';
import { CANARY_KEY, startTestStack, type TestStack } from '../support/testStack';

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack({ simulators: { face: {}, openai: {}, vision: {} } });
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

/**
 * The Face v1.2 REST client as an app builds it, with `endpoint` as its only change (plus, on this machine, leave to
 * send its key over the loopback's plain HTTP).
 */
function faceRestClient(target: ClientTarget): ReturnType<typeof createFaceClient> {
  return createFaceClient(
    endpointFor(t, 'face', target),
    { key: CANARY_KEY },
    { apiVersion: 'v1.2', allowInsecureConnection: true },
  );
}

/*
 * The Track 1 clients (`@azure/ms-rest-js`: Face 5, Custom Vision training 5.2) template their base URI as
 * `{Endpoint}/face/v1.0` and substitute the endpoint into the URL's host: a path in the endpoint (the drop-in's
 * `/api/upstream/{resource}`) replaces their operation path. The app gives them the whole base URI instead (a subclass
 * of three lines), the same way against the upstream and the cache.
 */

/** Face v1.0 with its base URI spelled out. */
class FaceV10Client extends FaceClient {
  constructor(credentials: ApiKeyCredentials, endpoint: string) {
    super(credentials, endpoint);
    this.baseUri = `${endpoint}/face/v1.0`;
  }
}

/**
 * Custom Vision training with its base URI spelled out. The only published JS training client (5.2.0) speaks
 * v3.4-preview, and docs/spec.md §2 serves v3.3: the app pins v3.3 here too.
 */
class TrainingApiV33Client extends TrainingAPIClient {
  constructor(credentials: ApiKeyCredentials, endpoint: string) {
    super(credentials, endpoint);
    this.baseUri = `${endpoint}/customvision/v3.3/training`;
  }
}

describe.each(CLIENT_TARGETS)('real clients pointed at the %s', (target) => {
  it('@azure-rest/ai-vision-face reads person group, large person group and large face list training (v1.2)', async () => {
    // Prepare
    const group = addRun(t, 'face', 'face.personGroup', `rest-group-${target}`);
    const large = addRun(t, 'face', 'face.largePersonGroup', `rest-large-${target}`, { ended: true });
    const list = addRun(t, 'face', 'face.largeFaceList', `rest-list-${target}`);
    await prepareFor(t, target, 'face', 'face.personGroup', group);
    await prepareFor(t, target, 'face', 'face.largePersonGroup', large);
    await prepareFor(t, target, 'face', 'face.largeFaceList', list);
    const client = faceRestClient(target);

    // Act
    const { result, upstreamCalls } = await upstreamCallsDuring(t, 'face', () =>
      Promise.all([
        client.path('/persongroups/{personGroupId}/training', group.personGroupId!).get(),
        client.path('/largepersongroups/{largePersonGroupId}/training', large.largePersonGroupId!).get(),
        client.path('/largefacelists/{largeFaceListId}/training', list.largeFaceListId!).get(),
      ]),
    );

    // Assess
    const [groupStatus, largeStatus, listStatus] = result;
    if (isUnexpected(groupStatus) || isUnexpected(largeStatus) || isUnexpected(listStatus))
      throw new Error(`unexpected answer: ${JSON.stringify(result.map((r) => r.body))}`);
    expect(groupStatus.body).toMatchObject({ status: 'running', message: null });
    expect(largeStatus.body.status).toBe('succeeded');
    expect(Date.parse(largeStatus.body.lastSuccessfulTrainingDateTime)).toBeGreaterThan(
      Date.now() - 3_600_000,
    );
    expect(listStatus.body.status).toBe('running');
    expect(upstreamCalls).toBe(target === 'upstream' ? 3 : 0);
  });

  it('@azure-rest/ai-vision-face sees the upstream 404 of a group that was never trained', async () => {
    // Prepare
    const personGroupId = `rest-untrained-${target}`;
    t.sims.face!.addFaceGroup(personGroupId, { createdAt: new Date(Date.now() - 60_000), trainings: [] });
    await prepareFor(t, target, 'face', 'face.personGroup', { personGroupId });

    // Act
    const answer = await faceRestClient(target)
      .path('/persongroups/{personGroupId}/training', personGroupId)
      .get();

    // Assess
    expect(answer.status).toBe('404');
    expect(isUnexpected(answer) && answer.body.error).toMatchObject({
      code: 'PersonGroupNotTrained',
      message: 'Person group not trained.',
    });
  });

  it('@azure/cognitiveservices-face 5 reads personGroup.getTrainingStatus (v1.0) into its own model', async () => {
    // Prepare
    const group = addRun(t, 'face', 'face.personGroup', `v10-group-${target}`);
    await prepareFor(t, target, 'face', 'face.personGroup', group);
    const credentials = new ApiKeyCredentials({ inHeader: { 'Ocp-Apim-Subscription-Key': CANARY_KEY } });
    const client = new FaceV10Client(credentials, endpointFor(t, 'face', target));

    // Act
    const { result, upstreamCalls } = await upstreamCallsDuring(t, 'face', () =>
      client.personGroup.getTrainingStatus(group.personGroupId!),
    );

    // Assess
    expect(result.status).toBe('running');
    expect(result.created).toBeInstanceOf(Date);
    expect(Math.abs(result.created.getTime() - (Date.now() - 30 * 60_000))).toBeLessThan(120_000);
    expect(upstreamCalls).toBe(target === 'upstream' ? 1 : 0);
  });

  it('openai AzureOpenAI reads fineTuning.jobs.retrieve', async () => {
    // Prepare
    const job = addRun(t, 'openai', 'openai.fineTuning', `ft-${target}`);
    await prepareFor(t, target, 'openai', 'openai.fineTuning', job);
    const client = new AzureOpenAI({
      endpoint: endpointFor(t, 'openai', target),
      apiKey: CANARY_KEY,
      apiVersion: '2024-10-21',
      maxRetries: 0,
    });

    // Act
    const { result, upstreamCalls } = await upstreamCallsDuring(t, 'openai', () =>
      client.fineTuning.jobs.retrieve(job.fineTuningJobId!),
    );

    // Assess
    expect(result).toMatchObject({ object: 'fine_tuning.job', id: job.fineTuningJobId, status: 'running' });
    expect(result.estimated_finish).toBeGreaterThan(Date.now() / 1000);
    expect(upstreamCalls).toBe(target === 'upstream' ? 1 : 0);
  });

  it('@azure/cognitiveservices-customvision-training reads getIteration into its own model', async () => {
    // Prepare
    const iteration = addRun(t, 'vision', 'customVision.iteration', `it-${target}`, { ended: true });
    await prepareFor(t, target, 'vision', 'customVision.iteration', iteration);
    const credentials = new ApiKeyCredentials({ inHeader: { 'Training-Key': CANARY_KEY } });
    const client = new TrainingApiV33Client(credentials, endpointFor(t, 'vision', target));

    // Act
    const { result, upstreamCalls } = await upstreamCallsDuring(t, 'vision', () =>
      client.getIteration(iteration.projectId!, iteration.iterationId!),
    );

    // Assess
    expect(result).toMatchObject({ id: iteration.iterationId, status: 'Completed' });
    expect(result.trainedAt).toBeInstanceOf(Date);
    expect(upstreamCalls).toBe(target === 'upstream' ? 1 : 0);
  });
});
