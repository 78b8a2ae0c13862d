/**
 * Route and parameter abuse (OWASP API1/API4 through the URL): path traversal and encoded slashes in {id}, ids in
 * other spellings, storage-key and OData tricks, huge `top`, forged `nextLink` tokens. Each is a 400 or a 404 —
 * never a 500, never another job's data, and never an upstream call.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/rawRequest';
import { startTestStack, type TestStack } from '../support/testStack';

let t: TestStack;
/** A: a Face group never trained (history: pending, notStarted). B: a running Language job (percentComplete). */
let a: string;
let b: string;
const start = new Date(Date.now() - 10 * 60_000);

/** Sends the path exactly as written (fetch would normalize `%2e%2e` and friends first). */
function raw(method: string, path: string): Promise<{ status: number; text: string }> {
  return rawRequest(t.url, method, path);
}

/** Whether a response carries anything of job B. */
function showsB(text: string): boolean {
  return (
    text.includes(b) || text.includes('j-b') || text.includes('percentComplete') || text.includes('"running"')
  );
}

/** A continuation token with its inner Table token replaced (the outer layout is the store's, read from a real one). */
function reforge(
  token: string,
  change: (outer: Record<string, unknown>, inner: Record<string, unknown>) => void,
): string {
  const outer = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
  const inner = JSON.parse(Buffer.from(outer.t as string, 'base64').toString('utf8')) as Record<
    string,
    unknown
  >;
  change(outer, inner);
  outer.t = Buffer.from(JSON.stringify(inner), 'utf8').toString('base64');
  return Buffer.from(JSON.stringify(outer), 'utf8').toString('base64url');
}

beforeAll(async () => {
  t = await startTestStack({ simulators: { main: {} } });
  t.sims.main!.addFaceGroup('g-a', { createdAt: start, trainings: [] });
  t.sims.main!.addLanguageJob('P', 'j-b', {
    createdAt: start,
    startAt: start,
    durationMs: 3_600_000,
    outcome: 'succeeded',
  });
  a = await t.register('main', { kind: 'face.personGroup', personGroupId: 'g-a' });
  b = await t.register('main', { kind: 'language.textAuthoring', projectName: 'P', jobId: 'j-b' });
  await t.call(`/api/jobs/${a}/refresh`, { method: 'POST' });
  await t.call(`/api/jobs/${b}/refresh`, { method: 'POST' });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('abusive ids in every /api/jobs/{id} route', () => {
  const badIds = (): string[] => [
    '..%2F..%2Fhealth',
    `${a}%2F..%2F${b}`,
    `${a}%2Fstatus`,
    `${a}%2f..%2f..%2fjobs%2f${b}`,
    '%2e%2e',
    `%2e%2e%2f${b}`,
    `..%5C${b}`,
    `${a.toUpperCase()}`,
    `${a}%00`,
    `${a}%20`,
    `%20${a}`,
    `${a}.json`,
    `${a}%0d%0aX-Injected:%201`,
    `${b.slice(0, 31)}`,
    `${b}0`,
    `${'a'.repeat(4000)}`,
    '%E0%A4%A',
    '%',
    `${a};${b}`,
    `${a},${b}`,
    `${a}%2C${b}`,
    '*',
    `job%7C${b}`,
    `due%7C${b}`,
    `hist%7C${b}`,
    `s${b[0]}`,
    '%27%20or%20RowKey%20ne%20%27',
    `${b}%27%20or%20%271%27%20eq%20%271`,
    '%24metadata',
    'null',
    'undefined',
    '__proto__',
    'constructor',
  ];

  it('answers 400 or 404 for every abusive id on every route, with nothing of another job', async () => {
    // Prepare
    const callsBefore = t.sims.main!.calls.length;
    const unexpected: string[] = [];

    // Act
    for (const id of badIds()) {
      for (const [method, path] of [
        ['GET', `/api/jobs/${id}`],
        ['GET', `/api/jobs/${id}/status`],
        ['GET', `/api/jobs/${id}/history`],
        ['POST', `/api/jobs/${id}/refresh`],
        ['DELETE', `/api/jobs/${id}`],
      ] as const) {
        const response = await raw(method, path);
        const allowed = method === 'DELETE' ? [204, 400, 404] : [400, 404];
        if (!allowed.includes(response.status) || showsB(response.text))
          unexpected.push(
            `${method} ${path.slice(0, 80)} -> ${response.status} ${response.text.slice(0, 120)}`,
          );
      }
    }
    const stillThere = await Promise.all([t.call(`/api/jobs/${a}`), t.call(`/api/jobs/${b}`)]);

    // Assess
    expect(unexpected).toEqual([]);
    expect(t.sims.main!.calls.length).toBe(callsBefore);
    expect(stillThere.map((r) => r.status)).toEqual([200, 200]);
  });

  it('still serves the real ids on the same routes (the abuse is refused, not every request)', async () => {
    // Act
    const responses = await Promise.all([
      raw('GET', `/api/jobs/${a}`),
      raw('GET', `/api/jobs/${a}/status`),
      raw('GET', `/api/jobs/${b}/history`),
    ]);

    // Assess
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(showsB(responses[2].text)).toBe(true);
  });
});

describe('abusive top', () => {
  const tops = [
    '101',
    '1000',
    '99999999999999999999',
    '-1',
    '0',
    '1.5',
    '1e2',
    '0x10',
    'abc',
    '',
    '%00',
    '%205',
    '100%00',
    '1%2C000',
  ];

  it.each(tops)(
    'answers top=%s with 400 InvalidArgument on top, on the list and the history',
    async (top) => {
      // Act
      const list = await raw('GET', `/api/jobs?top=${top}`);
      const history = await raw('GET', `/api/jobs/${a}/history?top=${top}`);

      // Assess
      for (const response of [list, history]) {
        expect(response.status).toBe(400);
        expect(JSON.parse(response.text)).toMatchObject({
          error: { code: 'InvalidArgument', target: 'top' },
        });
      }
    },
  );
});

describe('forged nextLink tokens', () => {
  it('answers random tokens with 400 on skipToken, on the list and the history', async () => {
    // Act & Assess
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .base64String({ minLength: 1, maxLength: 400 })
            .map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')),
          fc.string({ minLength: 1, maxLength: 200 }),
          fc
            .jsonValue({ maxDepth: 3 })
            .map((v) => Buffer.from(JSON.stringify(v) ?? 'x').toString('base64url')),
        ),
        fc.boolean(),
        async (token, onHistory) => {
          const path = onHistory ? `/api/jobs/${a}/history` : '/api/jobs';
          const response = await t.call(`${path}?top=1&skipToken=${encodeURIComponent(token)}`);
          expect(response.status).toBe(400);
          expect(response.body).toMatchObject({ error: { code: 'InvalidArgument', target: 'skipToken' } });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a token issued for another job or another filter, and a reforged one never shows another job', async () => {
    // Prepare
    const firstA = await t.call(`/api/jobs/${a}/history?top=1`);
    const tokenA = new URL((firstA.body as { nextLink: string }).nextLink).searchParams.get('skipToken')!;
    const firstList = await t.call('/api/jobs?top=1&kind=face.personGroup');
    const listLink = (firstList.body as { nextLink?: string }).nextLink;
    const firstAll = await t.call('/api/jobs?top=1');
    const tokenAll = new URL((firstAll.body as { nextLink: string }).nextLink).searchParams.get('skipToken')!;
    const pointAtB = reforge(tokenA, (_outer, inner) => {
      inner.nextPartitionKey = `s${b[0]}`;
      inner.nextRowKey = `hist|${b}|`;
    });
    const pointAtJobRow = reforge(tokenA, (_outer, inner) => {
      inner.nextPartitionKey = `s${b[0]}`;
      inner.nextRowKey = `job|${b}`;
    });
    const quoteInKey = reforge(tokenA, (_outer, inner) => {
      inner.nextRowKey = "hist|' or PartitionKey ne '";
    });
    const extraField = reforge(tokenA, (_outer, inner) => {
      inner.filter = 'true';
    });

    // Act
    const onB = await t.call(`/api/jobs/${b}/history?top=1&skipToken=${tokenA}`);
    const otherFilter = await t.call(`/api/jobs?top=1&kind=language.textAuthoring&skipToken=${tokenAll}`);
    const reforged = await Promise.all(
      [pointAtB, pointAtJobRow, quoteInKey, extraField].map((token) =>
        t.call(`/api/jobs/${a}/history?top=5&skipToken=${token}`),
      ),
    );
    const listReforged = await t.call(
      `/api/jobs?top=5&skipToken=${reforge(tokenAll, (_o, inner) => {
        inner.nextPartitionKey = 's0';
        inner.nextRowKey = "due|'";
      })}`,
    );

    // Assess
    expect(listLink === undefined || listLink.includes('kind=face.personGroup')).toBe(true);
    expect(onB.status).toBe(400);
    expect(otherFilter.status).toBe(400);
    for (const response of reforged) {
      expect([200, 400]).toContain(response.status);
      expect(showsB(response.text)).toBe(false);
    }
    expect([200, 400]).toContain(listReforged.status);
    for (const job of (listReforged.body as { value?: Array<{ id: string }> }).value ?? []) {
      expect([a, b]).toContain(job.id);
    }
  });
});
