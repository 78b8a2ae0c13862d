/**
 * The drop-in routes as an attack surface (docs/spec.md §13): they are anonymous to the host and authorized by the
 * upstream's own key, so they are a key oracle. A brute force is cut off after 10 failed attempts a minute per client
 * address (whatever key comes next), keys are compared through fixed-size digests and never logged, path tricks
 * under /api/upstream/ reach nothing but the exact route of a job, and a resource with no registered job answers
 * the upstream's 404 without any upstream call or write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestFrom } from '../support/requestFrom';
import { CANARY_KEY, startTestStack, type TestStack } from '../support/testStack';

const FUNCTION_KEY_SECRET = 'drop-in-function-key';
const FUNCTION_KEY = 'fk-7d1e0c5b9a2f4e68-DROP-IN';
const KEY = 'Ocp-Apim-Subscription-Key';

let t: TestStack;
let resource: string;
let groupUrl: string;
const start = new Date(Date.now() - 10 * 60_000);

beforeAll(async () => {
  t = await startTestStack({
    simulators: { main: {} },
    settings: { DROP_IN_FUNCTION_KEY_SECRET_NAME: FUNCTION_KEY_SECRET },
  });
  t.stack.vault?.setSecret(FUNCTION_KEY_SECRET, FUNCTION_KEY);
  resource = new URL(t.sims.main!.origin).host;
  t.sims.main!.addFaceGroup('g-secret', {
    createdAt: start,
    trainings: [{ startAt: start, durationMs: 3_600_000, outcome: 'succeeded' }],
  });
  t.sims.main!.addFaceGroup('g-other', { createdAt: start, trainings: [] });
  for (const group of ['g-secret', 'g-other']) {
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: group });
    await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
  }
  groupUrl = `${t.url}/api/upstream/${resource}/face/v1.0/persongroups/g-secret/training`;
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('the key oracle', () => {
  it('cuts a brute force off after 10 failed attempts a minute: even the right key then gets 429', async () => {
    // Prepare
    const attacker = '127.0.2.1';
    const guesses = Array.from(
      { length: 10 },
      (_, i) => `${CANARY_KEY.slice(0, -2)}${String(i).padStart(2, '0')}`,
    );

    // Act
    const refused = [];
    for (const guess of guesses)
      refused.push(await requestFrom(attacker, groupUrl, { headers: { [KEY]: guess } }));
    const right = await requestFrom(attacker, groupUrl, { headers: { [KEY]: CANARY_KEY } });
    const neighbour = await requestFrom('127.0.2.2', groupUrl, { headers: { [KEY]: CANARY_KEY } });

    // Assess
    expect(refused.map((r) => r.status)).toEqual(Array(10).fill(401));
    expect(right.status).toBe(429);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(right.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(right.text).not.toContain('status');
    expect(neighbour.status).toBe(200);
    for (const secret of [CANARY_KEY, ...guesses]) {
      expect(t.logs.some((line) => line.includes(secret))).toBe(false);
    }
  });

  it('does not let a forged X-Forwarded-For entry move an attacker to a fresh budget', async () => {
    // Prepare
    const attacker = '127.0.2.3';
    for (let i = 0; i < 10; i++) await requestFrom(attacker, groupUrl, { headers: { [KEY]: `wrong-${i}` } });

    // Act
    const forged = await requestFrom(attacker, groupUrl, {
      headers: { [KEY]: CANARY_KEY, 'x-forwarded-for': '198.51.100.77' },
    });

    // Assess
    expect(forged.status).toBe(429);
  });

  it('accepts x-functions-key equal to the vault secret DROP_IN_FUNCTION_KEY_SECRET_NAME names, and counts a wrong one', async () => {
    // Prepare
    const client = '127.0.2.4';

    // Act
    const accepted = await requestFrom(client, groupUrl, { headers: { 'x-functions-key': FUNCTION_KEY } });
    const wrong = await requestFrom(client, groupUrl, { headers: { 'x-functions-key': `${FUNCTION_KEY}x` } });

    // Assess
    expect(accepted.status).toBe(200);
    expect(JSON.parse(accepted.text)).toMatchObject({ status: 'running' });
    expect(wrong.status).toBe(401);
  });
});

describe('path tricks under /api/upstream/', () => {
  const base = (): string => `/api/upstream/${resource}/face/v1.0`;
  const tricks = (): string[] => [
    `${base()}/persongroups/g-other/../g-secret/training`,
    `${base()}/persongroups/g-other%2F..%2Fg-secret/training`,
    `${base()}/persongroups/g-other%2f..%2fg-secret/training`,
    `${base()}/persongroups/g-secret%00/training`,
    `${base()}/persongroups/g-secret/training%3Fapi-version=1`,
    `${base()}/persongroups//g-secret/training`,
    `${base()}/persongroups/g-secret/training/`,
    `${base()}/persongroups/g-secret/training/extra`,
    `${base()}/persongroups/G-SECRET/training`,
    `${base()}/persongroups/g-secret%5Ctraining`,
    `${base()}/persongroups/%67-secret/training/..`,
    `/api/upstream/${resource}%2Fface/v1.0/persongroups/g-secret/training`,
    `/api/upstream/${resource}@evil.example/face/v1.0/persongroups/g-secret/training`,
    `/api/upstream/${resource.replace('127.0.0.1', '0x7f.1')}/face/v1.0/persongroups/g-secret/training`,
    `/api/upstream/${resource}/face/v1.0/persongroups/g-secret/training?api-version=x&${KEY}=${CANARY_KEY}`,
    `/api/upstream/${resource}/language/authoring/analyze-text/projects/p/train/jobs/j?api-version=2022-05-01&api-version=2023-04-01`,
    `/api/upstream/${resource}/language/authoring/analyze-text/projects/p%2F..%2Fq/train/jobs/j?api-version=2022-05-01`,
    `/api/upstream/${'a'.repeat(5000)}/face/v1.0/persongroups/g/training`,
  ];

  it('answers each with 404 or the job its exact route names, never a 500, another job or an upstream call', async () => {
    // Prepare
    const callsBefore = t.sims.main!.calls.length;
    const client = '127.0.2.5';

    // Act
    const answers = [];
    for (const path of tricks()) {
      answers.push({
        path,
        ...(await requestFrom(client, `${t.url}${path}`, { headers: { [KEY]: CANARY_KEY } })),
      });
    }

    // Assess
    for (const { path, status, text } of answers) {
      expect([200, 404], `${path} → ${status}`).toContain(status);
      if (status === 200) {
        // Only a trick that normalizes to g-secret's own route may read g-secret (the key is its key).
        const normalized = new URL(path, 'http://x').pathname.split('/').map(decodeURIComponent).join('/');
        expect(normalized, path).toBe(`/api/upstream/${resource}/face/v1.0/persongroups/g-secret/training`);
      }
      expect(text).not.toContain(CANARY_KEY);
    }
    expect(answers.filter((a) => a.status === 404).length).toBeGreaterThanOrEqual(16);
    expect(t.sims.main!.calls.length).toBe(callsBefore);
  });
});

describe('a resource host that is not registered', () => {
  it.each([
    'nothing-here.cognitiveservices.azure.com',
    'westeurope.api.cognitive.microsoft.com',
    'evil.example.com',
    '169.254.169.254',
    '127.0.0.1:1',
  ])('answers %s with the upstream 404, no upstream call, no write', async (host) => {
    // Prepare
    const callsBefore = t.sims.main!.calls.length;
    t.tables.resetCount();

    // Act
    const response = await requestFrom(
      '127.0.2.6',
      `${t.url}/api/upstream/${host}/face/v1.0/persongroups/g-secret/training`,
      {
        headers: { [KEY]: CANARY_KEY },
      },
    );

    // Assess
    expect(response.status).toBe(404);
    expect(JSON.parse(response.text)).toEqual({ error: { code: '404', message: 'Resource not found' } });
    expect(t.sims.main!.calls.length).toBe(callsBefore);
    expect(t.tables.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });
});
