/**
 * The contract at run time: `GET /api/openapi.json` serves the repository's document, and every route's real
 * answers through the local host (200, 201, 204, 304, 400, 404, 429, HEAD, the host's own refusals) validate
 * against it: status documented for the operation, JSON bodies against its schemas (Ajv, OpenAPI 3.0 `nullable`,
 * formats), documented headers present.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACE_ERROR_RESPONSES } from '../../dev/simulator/facePersonGroup';
import { getServices } from '../../functions/services';
import { CANARY_KEY, startTestStack, type TestStack } from '../support/testStack';

interface Response {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema: object }>;
}
interface Document {
  paths: Record<string, Record<string, { responses?: Record<string, Response> }>>;
  components: { schemas: Record<string, object> };
}

const DOCUMENT_TEXT = readFileSync(path.resolve(__dirname, '../../openapi.json'), 'utf8');
const doc = JSON.parse(DOCUMENT_TEXT) as Document;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const validators = new Map<object, ValidateFunction>();

/** A schema of the document, with `#/components/...` references resolving inside it. */
function validatorFor(schema: object): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile({ allOf: [schema], components: doc.components });
    validators.set(schema, validate);
  }
  return validate;
}

/** The document's path template for a request path under /api (`/jobs/abc/status` → `/jobs/{id}/status`). */
function templateOf(requestPath: string): string | undefined {
  const parts = requestPath.split('/');
  return Object.keys(doc.paths).find((template) => {
    const t = template.split('/');
    // The drop-in route's last parameter is a catch-all (`{*path}` to the Functions host): it spans segments.
    const catchAll = template.startsWith('/upstream/') && t[t.length - 1] === '{path}';
    const length = catchAll ? parts.length >= t.length : t.length === parts.length;
    return length && t.every((s, i) => /^\{\w+\}$/.test(s) || s === parts[i]);
  });
}

interface Exchange {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  text: string;
}

/** What is wrong with an answer against the document; empty when it validates. */
function problemsOf(e: Exchange): string[] {
  const where = `${e.method} ${e.path} → ${e.status}`;
  const requestPath = new URL(e.path, 'http://x').pathname.replace(/^\/api/, '');
  const template = templateOf(requestPath);
  const operation = template ? doc.paths[template]?.[e.method.toLowerCase()] : undefined;
  // The host's own refusals (no route, wrong method, body over its cap) use the error shape.
  const refusal = (operation ? [405, 413] : [404, 405, 413]).includes(e.status);
  const response: Response | undefined =
    operation?.responses?.[String(e.status)] ??
    (refusal
      ? {
          description: '',
          content: { 'application/json': { schema: doc.components.schemas.ErrorResponse! } },
        }
      : undefined);
  if (!response) return [`${where}: not documented`];
  const problems: string[] = [];
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const optional = (header as { required?: boolean }).required === false;
    if (!optional && e.headers.get(name) === null) problems.push(`${where}: header ${name} missing`);
  }
  const schema = response.content?.['application/json']?.schema;
  if (e.method === 'HEAD' || !schema) {
    if (e.text !== '') problems.push(`${where}: a body where none is documented`);
    return problems;
  }
  if (!/^application\/json/.test(e.headers.get('content-type') ?? ''))
    problems.push(`${where}: content-type ${e.headers.get('content-type')}`);
  const validate = validatorFor(schema);
  if (!validate(JSON.parse(e.text))) problems.push(`${where}: ${ajv.errorsText(validate.errors)}`);
  return problems;
}

let t: TestStack;
const exchanges: Exchange[] = [];
const minutes = (n: number): Date => new Date(Date.now() + n * 60_000);

async function call(method: string, requestPath: string, init: RequestInit = {}): Promise<Exchange> {
  const response = await fetch(`${t.url}${requestPath}`, { ...init, method });
  const exchange = {
    method,
    path: requestPath,
    status: response.status,
    headers: response.headers,
    text: await response.text(),
  };
  exchanges.push(exchange);
  return exchange;
}

const jsonBody = (body: unknown): RequestInit => ({
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

beforeAll(async () => {
  t = await startTestStack({ simulators: { main: {}, paused: { budget: '60/min' } } });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('GET /api/openapi.json', () => {
  it("serves the repository's openapi.json, a valid OpenAPI 3.0 document", async () => {
    // Prepare
    const { Validator } = await import('@seriousme/openapi-schema-validator');

    // Act
    const response = await call('GET', '/api/openapi.json');

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(response.text)).toEqual(JSON.parse(DOCUMENT_TEXT));
    expect(await new Validator().validate(JSON.parse(response.text) as Record<string, unknown>)).toEqual({
      valid: true,
    });
  });
});

describe('HEAD on every GET route', () => {
  it('answers HEAD on the status with the ETag of the GET and no body, as `curl -sI` reads it', async () => {
    // Prepare
    t.sims.main!.addFaceGroup('g-head', { createdAt: minutes(-10), trainings: [] });
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'g-head' });
    const get = await call('GET', `/api/jobs/${id}/status`);

    // Act
    const head = await call('HEAD', `/api/jobs/${id}/status`);

    // Assess
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers.get('etag')).toBe(get.headers.get('etag'));
    expect(head.headers.get('cache-control')).toMatch(/^max-age=\d+$/);
    expect(head.headers.get('last-modified')).toBe(get.headers.get('last-modified'));
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(get.text)));
  });
});

describe('every answer validates against the document', () => {
  it('validates 200, 201, 204, 304, 400, 404 and 429 of every route, HEAD included, and the host refusals', async () => {
    // Prepare
    const main = t.sims.main!;
    main.addFaceGroup('g-contract', {
      createdAt: minutes(-10),
      trainings: [{ startAt: minutes(-1), durationMs: 3_600_000, outcome: 'succeeded' }],
    });
    main.addLanguageJob('Proj', 'contract-job', {
      createdAt: minutes(-2),
      startAt: minutes(-1),
      durationMs: 600_000,
      outcome: 'succeeded',
    });
    const paused = t.sims.paused!;
    paused.addFaceGroup('p1', { createdAt: minutes(-10), trainings: [] });
    paused.addFaceGroup('p2', { createdAt: minutes(-10), trainings: [] });
    const face = { kind: 'face.personGroup', endpoint: main.origin, keySecretName: 'test-upstream-key' };
    const unknownId = '0123456789abcdef0123456789abcdef';

    // Act
    const created = await call('POST', '/api/jobs', jsonBody({ ...face, personGroupId: 'g-contract' }));
    await call('POST', '/api/jobs', jsonBody({ ...face, personGroupId: 'g-contract' }));
    await call('POST', '/api/jobs', jsonBody({ ...face, personGroupId: 'Has Spaces' }));
    await call(
      'POST',
      '/api/jobs',
      jsonBody({
        kind: 'language.textAuthoring',
        endpoint: main.origin,
        keySecretName: 'test-upstream-key',
        projectName: 'Proj',
        jobId: 'contract-job',
      }),
    );
    await call('POST', '/api/jobs', jsonBody({ ...face, personGroupId: 'g-missing-upstream' }));
    const id = (JSON.parse(created.text) as { id: string }).id;
    await call('POST', `/api/jobs/${id}/refresh`);
    await call('POST', `/api/jobs/${unknownId}/refresh`);
    await t.runCycle();
    for (const method of ['GET', 'HEAD']) {
      await call(method, '/api/jobs?top=1');
      await call(method, '/api/jobs?top=1000');
      await call(method, `/api/jobs/${id}`);
      await call(method, `/api/jobs/${unknownId}`);
      const status = await call(method, `/api/jobs/${id}/status`);
      await call(method, `/api/jobs/${id}/status`, {
        headers: { 'if-none-match': status.headers.get('etag')! },
      });
      // Long-poll: a stale ETag answers at once, a current one after the wait (docs/spec.md §7)
      await call(method, `/api/jobs/${id}/status`, {
        headers: { 'if-none-match': '"stale"', prefer: 'wait=1' },
      });
      await call(method, `/api/jobs/${id}/status`, {
        headers: { 'if-none-match': status.headers.get('etag')!, prefer: 'wait=1' },
      });
      await call(method, `/api/jobs/${unknownId}/status`);
      await call(method, `/api/jobs/${id}/history?top=1`);
      await call(method, `/api/jobs/${id}/history?top=0`);
      await call(method, `/api/jobs/${unknownId}/history`);
      await call(method, '/api/health');
      await call(method, '/api/openapi.json');
    }
    const p1 = await t.register('paused', { kind: 'face.personGroup', personGroupId: 'p1' });
    const p2 = await t.register('paused', { kind: 'face.personGroup', personGroupId: 'p2' });
    paused.injectFault({
      response: { ...FACE_ERROR_RESPONSES.rateLimited429, headers: { 'retry-after': '120' } },
    });
    await call('POST', `/api/jobs/${p1}/refresh`);
    await call('POST', `/api/jobs/${p2}/refresh`);
    await call('DELETE', `/api/jobs/${p2}`);
    // Drop-in reads (docs/spec.md §13): the cached answer, 304, 401, a cached upstream 404, the gateway 404, 405
    // for writes, and 429 for a job registered on the fly on the paused resource.
    const upstreamKey = { 'Ocp-Apim-Subscription-Key': CANARY_KEY };
    const dropIn = (sim: string, group: string): string =>
      `/api/upstream/${new URL(t.sims[sim]!.origin).host}/face/v1.0/persongroups/${group}/training`;
    for (const method of ['GET', 'HEAD']) {
      const read = await call(method, dropIn('main', 'g-contract'), { headers: upstreamKey });
      await call(method, dropIn('main', 'g-contract'), {
        headers: { ...upstreamKey, 'if-none-match': read.headers.get('etag')! },
      });
      await call(method, dropIn('main', 'g-contract'), {
        headers: { 'Ocp-Apim-Subscription-Key': 'not-the-key' },
      });
      await call(method, dropIn('main', 'g-missing-upstream'), { headers: upstreamKey });
      await call(
        method,
        '/api/upstream/nowhere.cognitiveservices.azure.com/face/v1.0/persongroups/g/training',
        {
          headers: upstreamKey,
        },
      );
    }
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) await call(method, dropIn('main', 'g-contract'));
    await call('GET', dropIn('paused', 'p3'), { headers: upstreamKey });
    await call('GET', '/api/no/such/route');
    await call('PUT', `/api/jobs/${id}`, jsonBody({}));
    await call('POST', '/api/jobs', {
      headers: { 'content-type': 'application/json' },
      body: ' '.repeat(2 << 20),
    });

    // Assess
    expect(exchanges.flatMap(problemsOf)).toEqual([]);
    const seen = new Set(exchanges.map((e) => e.status));
    for (const status of [200, 201, 204, 304, 400, 401, 404, 405, 413, 429]) expect(seen).toContain(status);
    const dropInStatuses = exchanges.filter((e) => e.path.startsWith('/api/upstream/')).map((e) => e.status);
    expect(new Set(dropInStatuses)).toEqual(new Set([200, 304, 401, 404, 405, 429]));
    expect(exchanges.filter((e) => e.method === 'HEAD').every((e) => e.status !== 405)).toBe(true);
  });

  it('validates every answer of the subscription routes: 200, 201, 204, 400, 404 and HEAD', async () => {
    // Prepare
    const from = exchanges.length;
    const unknownId = 'fedcba9876543210fedcba9876543210';

    // Act
    const created = await call(
      'POST',
      '/api/subscriptions',
      jsonBody({ url: 'https://hooks.contoso.com/x', kinds: ['face.personGroup'], description: 'contract' }),
    );
    const { id } = JSON.parse(created.text) as { id: string };
    await (
      await getServices()
    ).deliveryLog.upsert({
      subscriptionId: id,
      eventId: 'evt_contract',
      type: 'job.completed',
      jobId: unknownId,
      status: 'failed',
      attempts: 9,
      lastAttemptAt: new Date().toISOString(),
      lastHttpStatus: 500,
    });
    await call('POST', '/api/subscriptions', jsonBody({ url: 'https://127.0.0.1/x' }));
    await call(
      'POST',
      '/api/subscriptions',
      jsonBody({ url: 'https://hooks.contoso.com/x', events: ['nope'] }),
    );
    await call('POST', `/api/subscriptions/${id}/rotate-secret`);
    await call('POST', `/api/subscriptions/${unknownId}/rotate-secret`);
    for (const method of ['GET', 'HEAD']) {
      await call(method, '/api/subscriptions?top=1');
      await call(method, '/api/subscriptions?top=0');
      await call(method, `/api/subscriptions/${id}`);
      await call(method, `/api/subscriptions/${unknownId}`);
      await call(method, `/api/subscriptions/${id}/deliveries?top=1`);
      await call(method, `/api/subscriptions/${id}/deliveries?skipToken=forged`);
      await call(method, `/api/subscriptions/${unknownId}/deliveries`);
    }
    await call('DELETE', `/api/subscriptions/${id}`);
    await call('PUT', `/api/subscriptions/${id}`, jsonBody({}));

    // Assess
    const mine = exchanges.slice(from);
    expect(mine.flatMap(problemsOf)).toEqual([]);
    expect(new Set(mine.map((e) => e.status))).toEqual(new Set([200, 201, 204, 400, 404, 405]));
  });
});
