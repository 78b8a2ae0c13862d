/**
 * Plain HTTP clients written from the services' REST examples (Language text and conversation authoring, Document
 * Intelligence, Speech) read training status through the drop-in routes (docs/spec.md §13): the same request with
 * the endpoint swapped gets the upstream's own body, field for field. Each request runs first against the simulated
 * upstream, then against the cache; through the cache the upstream receives no call from the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../shared/model';
import {
  addRun,
  CLIENT_TARGETS,
  endpointFor,
  prepareFor,
  upstreamCallsDuring,
  type ClientTarget,
} from '../support/dropIn';
import { CANARY_KEY, startTestStack, type TestStack } from '../support/testStack';

/** One REST example: the kind, the request the docs show (after `{endpoint}`), and what the app reads from the body. */
interface RestExample {
  name: string;
  kind: string;
  request: (identity: Identity) => string;
  /** The status the example's running job reports, and the fields the app reads. */
  expected: Record<string, unknown>;
}

const enc = encodeURIComponent;
const anyString: unknown = expect.any(String);
const runningTraining: unknown = expect.objectContaining({
  trainingStatus: expect.objectContaining({ status: 'running' }) as unknown,
});

const EXAMPLES: RestExample[] = [
  {
    name: 'Language custom text: Get training job status (2023-04-01)',
    kind: 'language.textAuthoring',
    request: ({ projectName, jobId }) =>
      `/language/authoring/analyze-text/projects/${enc(projectName!)}/train/jobs/${enc(jobId!)}?api-version=2023-04-01`,
    expected: {
      status: 'running',
      result: runningTraining,
    },
  },
  {
    name: 'Language conversation: Get training job status (2023-04-01)',
    kind: 'language.conversationAuthoring',
    request: ({ projectName, jobId }) =>
      `/language/authoring/analyze-conversations/projects/${enc(projectName!)}/train/jobs/${enc(jobId!)}?api-version=2023-04-01`,
    expected: {
      status: 'running',
      result: runningTraining,
    },
  },
  {
    name: 'Document Intelligence: Get Operation (2024-11-30)',
    kind: 'documentIntelligence.modelBuild',
    request: ({ operationId }) =>
      `/documentintelligence/operations/${enc(operationId!)}?api-version=2024-11-30`,
    expected: { status: 'running', kind: 'documentModelBuild', resourceLocation: anyString },
  },
  {
    name: 'Document Intelligence: Get Operation (2023-07-31, Form Recognizer path)',
    kind: 'documentIntelligence.modelBuild',
    request: ({ operationId }) => `/formrecognizer/operations/${enc(operationId!)}?api-version=2023-07-31`,
    expected: { status: 'running', kind: 'documentModelBuild' },
  },
  {
    name: 'Speech to text: Models - Get Custom Model (2024-11-15)',
    kind: 'speech.customModel',
    request: ({ modelId }) => `/speechtotext/models/${enc(modelId!)}?api-version=2024-11-15`,
    expected: { status: 'Running', locale: 'en-US', self: anyString },
  },
  {
    name: 'Speech to text: Models - Get Custom Model (v3.2)',
    kind: 'speech.customModel',
    request: ({ modelId }) => `/speechtotext/v3.2/models/${enc(modelId!)}`,
    expected: { status: 'Running', locale: 'en-US' },
  },
];

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack({ simulators: { rest: {} } });
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

/** The REST example's request: a GET with the subscription key header, the JSON body parsed by the app. */
async function getLikeTheExample(
  target: ClientTarget,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${endpointFor(t, 'rest', target)}${path}`, {
    headers: { 'Ocp-Apim-Subscription-Key': CANARY_KEY },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe.each(CLIENT_TARGETS)('REST examples pointed at the %s', (target) => {
  it.each(EXAMPLES.map((e, i) => [e.name, e, i] as const))(
    '%s reads the running job in the upstream shape',
    async (_name, example, index) => {
      // Prepare
      const identity = addRun(t, 'rest', example.kind, `rest-${index}-${target}`);
      await prepareFor(t, target, 'rest', example.kind, identity);

      // Act
      const { result, upstreamCalls } = await upstreamCallsDuring(t, 'rest', () =>
        getLikeTheExample(target, example.request(identity)),
      );

      // Assess
      expect(result.status).toBe(200);
      expect(result.body).toMatchObject(example.expected);
      expect(upstreamCalls).toBe(target === 'upstream' ? 1 : 0);
    },
  );

  it('an unknown Document Intelligence operation answers the upstream 404 shape', async () => {
    // Prepare
    const known = addRun(t, 'rest', 'documentIntelligence.modelBuild', `rest-known-${target}`);
    await prepareFor(t, target, 'rest', 'documentIntelligence.modelBuild', known);

    // Act
    const answer = await getLikeTheExample(
      target,
      `/documentintelligence/operations/${'0'.repeat(8)}-unknown?api-version=2024-11-30`,
    );

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ error: { code: anyString, message: anyString } });
  });
});
