/**
 * docs/spec.md §7 POST /api/jobs: any invalid registration is a 400 InvalidArgument with a target, never a 500, and
 * nothing is stored. Property-based (fast-check): every malformed body is built by breaking one thing in a valid
 * one, so each case knows which target it must be refused on.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobsApi, readBodyText } from '../../shared/api/jobsApi';
import { MAX_BODY_BYTES, parseRegistration } from '../../shared/api/registration';
import { systemClock } from '../../shared/clock';
import { startTestStack, type TestStack } from '../support/testStack';
import {
  apiErrorOf,
  apiErrorOfAsync,
  jobRows,
  LOCAL_ORIGIN,
  readAllEntities,
  recordingStore,
  registrationContext,
  VALID_BODIES,
  writesOf,
} from './support';

/** numRuns of each in-process property; 11 malformation families (more than 1,000 bodies in all). */
const RUNS = 150;
/** Bodies sent through the local host over HTTP. */
const HTTP_RUNS = 300;

type Body = Record<string, unknown>;

interface Case {
  family: string;
  text: string;
  contentType: string;
  /** The `target` the refusal must name. */
  target: string;
}

const FACE_FIELDS = ['kind', 'endpoint', 'keySecretName', 'personGroupId'] as const;
const LANGUAGE_FIELDS = ['kind', 'endpoint', 'keySecretName', 'projectName', 'jobId'] as const;
const OPTIONAL_FIELDS = ['apiVersion', 'pollIntervalSeconds', 'displayName'] as const;
const KNOWN = new Set<string>([...FACE_FIELDS, ...LANGUAGE_FIELDS, ...OPTIONAL_FIELDS]);

const secretName = fc.stringMatching(/^[A-Za-z0-9-]{1,127}$/);
/** Text an identity field accepts: one path segment (no `/?#%\`, no control characters), at most `max` UTF-16 units. */
const safeText = (max: number) =>
  fc.string({ minLength: 1, maxLength: max, unit: 'grapheme' }).filter(
    // eslint-disable-next-line no-control-regex
    (s) => !/[/?#%\\\u0000-\u001f\u007f]/.test(s) && s !== '.' && s !== '..' && s.length <= max,
  );

/** Valid bodies of both kinds, with and without the optional fields. */
const validBody: fc.Arbitrary<Body> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('face.personGroup'),
      endpoint: fc.constantFrom(
        LOCAL_ORIGIN,
        `${LOCAL_ORIGIN}/`,
        'https://myface.cognitiveservices.azure.com',
      ),
      keySecretName: secretName,
      personGroupId: fc.stringMatching(/^[a-z0-9_-]{1,64}$/),
      apiVersion: fc.constantFrom('v1.0', 'v1.2'),
      pollIntervalSeconds: fc.integer({ min: 10, max: 86_400 }),
      displayName: safeText(200),
    },
    { requiredKeys: ['kind', 'endpoint', 'keySecretName', 'personGroupId'] },
  ),
  fc.record(
    {
      kind: fc.constant('language.textAuthoring'),
      endpoint: fc.constantFrom(LOCAL_ORIGIN, 'https://westeurope.api.cognitive.microsoft.com'),
      keySecretName: secretName,
      projectName: safeText(100),
      jobId: safeText(200),
      apiVersion: fc.constantFrom('2022-05-01', '2023-04-01'),
      pollIntervalSeconds: fc.integer({ min: 10, max: 86_400 }),
    },
    { requiredKeys: ['kind', 'endpoint', 'keySecretName', 'projectName', 'jobId'] },
  ),
);

const requiredOf = (body: Body): readonly string[] =>
  body.kind === 'face.personGroup' ? FACE_FIELDS : LANGUAGE_FIELDS;

const json = (body: Body): string => JSON.stringify(body);

const JSON_TYPE = 'application/json';

/** Values of a type no field takes. */
const notAString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);
const notANumber = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant({ value: 60 }),
);

const families: Record<string, fc.Arbitrary<Case>> = {
  'wrong types': fc.tuple(validBody, fc.nat(), notAString, notANumber).map(([body, n, value, number]) => {
    const fields = [...requiredOf(body), ...OPTIONAL_FIELDS];
    const field = fields[n % fields.length]!;
    const broken = { ...body, [field]: field === 'pollIntervalSeconds' ? number : value };
    return { family: 'wrong types', text: json(broken), contentType: JSON_TYPE, target: field };
  }),
  'missing fields': fc.tuple(validBody, fc.nat()).map(([body, n]) => {
    const fields = requiredOf(body);
    const field = fields[n % fields.length]!;
    const broken = { ...body };
    delete broken[field];
    return { family: 'missing fields', text: json(broken), contentType: JSON_TYPE, target: field };
  }),
  'unknown fields': fc
    .tuple(
      validBody,
      fc.oneof(
        fc.string({ minLength: 1, maxLength: 100, unit: 'binary' }),
        fc.constantFrom(
          '__proto__',
          'constructor',
          'prototype',
          'toString',
          'key',
          'subscriptionKey',
          'Ocp-Apim-Subscription-Key',
          'KIND',
          'Endpoint',
          'personGroupID',
          'identity',
          'state',
          'id',
        ),
      ),
      fc.jsonValue({ maxDepth: 3 }),
    )
    .filter(
      ([body, name]) =>
        !KNOWN.has(name) ||
        (body.kind === 'face.personGroup' && (name === 'projectName' || name === 'jobId')),
    )
    .map(([body, name, value]) => {
      const broken: Body = { ...body };
      Object.defineProperty(broken, name, { value, enumerable: true, configurable: true, writable: true });
      const target = name.length > 64 ? `${name.slice(0, 64)}…` : name;
      return { family: 'unknown fields', text: json(broken), contentType: JSON_TYPE, target };
    }),
  'oversize strings': fc
    .tuple(
      validBody,
      fc.constantFrom('keySecretName', 'displayName', 'identity', 'endpoint'),
      fc.integer({ min: 1, max: 2000 }),
    )
    .map(([body, what, extra]) => {
      const face = body.kind === 'face.personGroup';
      const [field, value] =
        what === 'keySecretName'
          ? ['keySecretName', 'k'.repeat(127 + extra)]
          : what === 'displayName'
            ? ['displayName', 'd'.repeat(200 + extra)]
            : what === 'endpoint'
              ? ['endpoint', `https://${'a'.repeat(300 + extra)}.cognitiveservices.azure.com`]
              : face
                ? ['personGroupId', 'g'.repeat(64 + extra)]
                : extra % 2 === 0
                  ? ['projectName', 'p'.repeat(100 + extra)]
                  : ['jobId', 'j'.repeat(200 + extra)];
      return {
        family: 'oversize strings',
        text: json({ ...body, [field]: value }),
        contentType: JSON_TYPE,
        target: field,
      };
    }),
  'invalid ids': fc
    .tuple(
      validBody,
      fc.string({ minLength: 0, maxLength: 30, unit: 'binary' }),
      fc.constantFrom('/', '?', '#', '%', '\u0000', '\n', '\u007f', '\ud800', '..', '.'),
      fc.nat(),
    )
    .map(([body, text, bad, n]) => {
      if (body.kind === 'face.personGroup') {
        // Anything outside a-z 0-9 - _ : one forbidden character is enough.
        const forbidden = ['A', ' ', '.', '/', 'é', '\u0000', bad][n % 7]!;
        const value = `${text.slice(0, 20).replace(/[^a-z0-9_-]/g, '')}${forbidden}`;
        return {
          family: 'invalid ids',
          text: json({ ...body, personGroupId: value }),
          contentType: JSON_TYPE,
          target: 'personGroupId',
        };
      }
      const field = n % 2 === 0 ? 'projectName' : 'jobId';
      const value = bad === '.' || bad === '..' ? bad : `${text.slice(0, 20)}${bad}`;
      return {
        family: 'invalid ids',
        text: json({ ...body, [field]: value }),
        contentType: JSON_TYPE,
        target: field,
      };
    }),
  'invalid secret names': fc
    .tuple(validBody, fc.string({ maxLength: 140, unit: 'binary' }))
    .filter(([, name]) => !/^[A-Za-z0-9-]{1,127}$/.test(name))
    .map(([body, name]) => ({
      family: 'invalid secret names',
      text: json({ ...body, keySecretName: name }),
      contentType: JSON_TYPE,
      target: 'keySecretName',
    })),
  'invalid intervals, versions and kinds': fc
    .tuple(
      validBody,
      fc.oneof(
        fc.integer({ max: 9 }),
        fc.integer({ min: 86_401 }),
        fc.double({ min: 10.000001, max: 86_399.99, noNaN: true }).filter((d) => !Number.isInteger(d)),
      ),
      fc.string({ maxLength: 20 }),
      fc.nat(),
    )
    .map(([body, interval, text, n]) => {
      const which = n % 3;
      if (which === 0)
        return {
          family: 'invalid intervals, versions and kinds',
          text: json({ ...body, pollIntervalSeconds: interval }),
          contentType: JSON_TYPE,
          target: 'pollIntervalSeconds',
        };
      if (which === 1)
        return {
          family: 'invalid intervals, versions and kinds',
          text: json({ ...body, apiVersion: `${text}x` }),
          contentType: JSON_TYPE,
          target: 'apiVersion',
        };
      return {
        family: 'invalid intervals, versions and kinds',
        text: json({ ...body, kind: `face.${text}` }),
        contentType: JSON_TYPE,
        target: 'kind',
      };
    }),
  'deep nesting': fc
    .tuple(
      validBody,
      fc.integer({ min: 33, max: 3000 }),
      fc.constantFrom('body', 'endpoint', 'unknown', 'identity'),
    )
    .map(([body, depth, where]) => {
      const nested =
        depth % 2 === 0
          ? `${'['.repeat(depth)}${']'.repeat(depth)}`
          : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      // A nested array is not an object; a nested object is one, without a kind.
      if (where === 'body')
        return { family: 'deep nesting', text: nested, contentType: JSON_TYPE, target: 'body' };
      const field =
        where === 'endpoint' ? 'endpoint' : where === 'unknown' ? 'nested' : requiredOf(body).at(-1)!;
      const marker = '"__NESTED__"';
      const text = json({ ...body, [field]: '__NESTED__' }).replace(marker, nested);
      return { family: 'deep nesting', text, contentType: JSON_TYPE, target: 'body' };
    }),
  'invalid JSON': fc
    .tuple(
      validBody,
      fc.nat(),
      fc.constantFrom(
        'prefix',
        'trailing comma',
        'single quotes',
        'comment',
        'NaN',
        'unquoted',
        'two objects',
        'undefined',
      ),
    )
    .map(([body, n, how]) => {
      const text = json(body);
      const broken =
        how === 'prefix'
          ? text.slice(0, n % text.length)
          : how === 'trailing comma'
            ? `${text.slice(0, -1)},}`
            : how === 'single quotes'
              ? text.replace(/"/g, "'")
              : how === 'comment'
                ? `/* x */${text}`
                : how === 'NaN'
                  ? `${text.slice(0, -1)},"pollIntervalSeconds":NaN}`
                  : how === 'unquoted'
                    ? text.replace('"kind"', 'kind')
                    : how === 'two objects'
                      ? `${text}${text}`
                      : `${text.slice(0, -1)},"displayName":undefined}`;
      return { family: 'invalid JSON', text: broken, contentType: JSON_TYPE, target: 'body' };
    }),
  'wrong content type': fc
    .tuple(
      validBody,
      fc.oneof(
        fc.constantFrom(
          'text/plain',
          'text/plain; charset=utf-8',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
          'text/json',
          'application/jsonx',
          'application/json-patch',
          'json',
          'application/',
          '*/*',
          'application/javascript',
        ),
        fc
          .stringMatching(/^[a-z]{1,10}\/[a-z]{1,10}$/)
          .filter((t) => !/^application\/(?:[\w.+-]+\+)?json$/.test(t)),
      ),
    )
    .map(([body, contentType]) => ({
      family: 'wrong content type',
      text: json(body),
      contentType,
      target: 'Content-Type',
    })),
  'bodies over 16 KiB': fc
    .tuple(validBody, fc.integer({ min: 1, max: 48 * 1024 }), fc.boolean())
    .map(([body, extra, multibyte]) => {
      const text = json(body);
      const room = MAX_BODY_BYTES - Buffer.byteLength(text) + extra;
      const padded = multibyte
        ? json({ ...body, displayName: '\u20ac'.repeat(Math.ceil(room / 3) + 100) })
        : `${text}${' '.repeat(room)}`;
      return { family: 'bodies over 16 KiB', text: padded, contentType: JSON_TYPE, target: 'body' };
    }),
};

const anyMalformed = fc.oneof(...Object.values(families));

function api(): { api: JobsApi; calls: string[] } {
  const { store, calls } = recordingStore();
  return {
    api: new JobsApi({
      store,
      poller: {
        pollNow: () => Promise.reject(new Error('no poll')),
        withLogger: () => {
          throw new Error('no');
        },
      },
      clock: systemClock,
      ...registrationContext,
    }),
    calls,
  };
}

describe('valid registrations (the base every malformed body is made from)', () => {
  it('are accepted, so each malformed case is refused for what was broken in it', async () => {
    // Prepare
    const { api: jobs, calls } = api();

    // Act & Assess
    await fc.assert(
      fc.asyncProperty(validBody, async (body) => {
        const response = await jobs.register(json(body), JSON_TYPE, 'http://localhost');
        expect(response.status).toBe(201);
      }),
      { numRuns: RUNS },
    );
    expect(calls.length).toBe(RUNS);
  });
});

describe('malformed registrations, in process', () => {
  it.each(Object.keys(families))(
    'refuses %s with 400 InvalidArgument on the broken target, storing nothing',
    async (family) => {
      // Prepare
      const { api: jobs, calls } = api();
      let count = 0;

      // Act & Assess
      await fc.assert(
        fc.asyncProperty(families[family]!, async (c) => {
          count++;
          const parsed = apiErrorOf(() => parseRegistration(c.text, c.contentType, registrationContext));
          const registered = await apiErrorOfAsync(() =>
            jobs.register(c.text, c.contentType, 'http://localhost'),
          );
          for (const error of [parsed, registered]) {
            expect(error.status).toBe(400);
            expect(error.code).toBe('InvalidArgument');
            expect(error.target).toBe(c.target);
          }
          expect((registered.details ?? []).length).toBeLessThanOrEqual(20);
        }),
        { numRuns: RUNS },
      );
      expect(count).toBe(RUNS);
      expect(calls).toEqual([]);
    },
  );
});

describe('the nesting limit', () => {
  it('reads a body nested up to 32 levels and names the field, and refuses 33 as the body', () => {
    // Prepare
    const at = (levels: number): string =>
      json({ ...VALID_BODIES.face, extra: '__X__' }).replace(
        '"__X__"',
        `${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}`,
      );

    // Act
    const within = apiErrorOf(() => parseRegistration(at(32), JSON_TYPE, registrationContext));
    const over = apiErrorOf(() => parseRegistration(at(33), JSON_TYPE, registrationContext));
    const inString = parseRegistration(
      json({ ...VALID_BODIES.face, displayName: '['.repeat(100) }),
      JSON_TYPE,
      registrationContext,
    );

    // Assess
    expect(within.target).toBe('extra');
    expect(over.target).toBe('body');
    expect(inString.displayName).toBe('['.repeat(100));
  });
});

describe('readBodyText (the capped read for the registerJob function)', () => {
  const request = (chunks: Uint8Array[], contentLength?: string) => ({
    headers: new Headers(contentLength === undefined ? {} : { 'content-length': contentLength }),
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    }),
  });

  it('refuses a declared Content-Length over 16 KiB before reading anything', async () => {
    // Act
    const error = await apiErrorOfAsync(() => readBodyText(request([], String(MAX_BODY_BYTES + 1))));

    // Assess
    expect(error).toMatchObject({ status: 400, code: 'InvalidArgument', target: 'body' });
  });

  it('stops reading a body that passes 16 KiB without declaring it', async () => {
    // Prepare
    const chunk = new Uint8Array(4096).fill(32);

    // Act
    const error = await apiErrorOfAsync(() => readBodyText(request([chunk, chunk, chunk, chunk, chunk])));

    // Assess
    expect(error).toMatchObject({ status: 400, code: 'InvalidArgument', target: 'body' });
  });

  it('returns a body at the cap as UTF-8 text', async () => {
    // Prepare
    const text = `{"displayName":"${'\u20ac'.repeat(100)}"}`;

    // Act
    const read = await readBodyText(request([new TextEncoder().encode(text)]));

    // Assess
    expect(read).toBe(text);
  });
});

describe('malformed registrations through the local host', () => {
  let t: TestStack;

  beforeAll(async () => {
    t = await startTestStack({ simulators: { main: {} } });
    await t.call('/api/jobs?top=1'); // the app creates its tables on first use
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
  });

  it('answers every one 400 InvalidArgument with its target, never 500, and stores nothing', async () => {
    // Prepare
    t.tables.resetCount();
    const seen = new Set<string>();

    // Act & Assess
    await fc.assert(
      fc.asyncProperty(anyMalformed, async (c) => {
        seen.add(c.family);
        const response = await t.call('/api/jobs', {
          method: 'POST',
          headers: { 'content-type': c.contentType },
          // The stack allows its simulator's origin, not the in-process one.
          body: c.text.replaceAll(LOCAL_ORIGIN, t.sims.main!.origin),
        });
        expect(response.status, `${c.family}: ${response.text.slice(0, 200)}`).toBe(400);
        expect(response.body).toMatchObject({ error: { code: 'InvalidArgument', target: c.target } });
      }),
      { numRuns: HTTP_RUNS },
    );
    const entities = await readAllEntities(process.env.AzureWebJobsStorage!);
    expect(seen.size).toBe(Object.keys(families).length);
    expect(jobRows(entities)).toEqual([]);
    expect(writesOf(t.tables.requests)).toEqual([]);
  });

  it('refuses a body over the host limit (1 MiB) before the function runs, storing nothing', async () => {
    // Prepare
    t.tables.resetCount();

    // Act
    const response = await t.call('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE },
      body: ' '.repeat(2 * 1024 * 1024),
    });

    // Assess
    expect(response.status).toBe(413);
    expect(t.tables.requests).toEqual([]);
  });
});
