import util from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../shared/clock';
import { SecretUnavailableError } from '../../shared/errors';
import { KeyClient, type SecretReader } from '../../shared/secrets';

const SECRET_VALUE = 'sk-0123456789abcdef-never-print-me';

class FakeClock implements Clock {
  constructor(private ms = Date.parse('2025-01-01T00:00:00Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
  sleep(): Promise<void> {
    return Promise.resolve();
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A SecretReader whose answers the test decides, counting reads per name. */
class FakeReader implements SecretReader {
  readonly reads = new Map<string, number>();
  readonly signals: (AbortSignal | undefined)[] = [];
  next: () => Promise<{ value?: string }> = () => Promise.resolve({ value: SECRET_VALUE });
  getSecret(name: string, options?: { abortSignal?: AbortSignal }): Promise<{ value?: string }> {
    this.reads.set(name, (this.reads.get(name) ?? 0) + 1);
    this.signals.push(options?.abortSignal);
    return this.next();
  }
  count(name: string): number {
    return this.reads.get(name) ?? 0;
  }
}

function restError(
  statusCode: number | undefined,
  headers: Record<string, string> = {},
  code?: string,
): Error {
  return Object.assign(new Error(`Service said no (${statusCode ?? code ?? ''})`), {
    name: 'RestError',
    statusCode,
    code,
    response: { headers: { get: (n: string) => headers[n.toLowerCase()] } },
  });
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e: unknown) {
    return e;
  }
  throw new Error('expected a rejection');
}

function setup(options: { ttlMs?: number; failureTtlMs?: number; readTimeoutMs?: number } = {}): {
  clock: FakeClock;
  reader: FakeReader;
  keys: KeyClient;
} {
  const clock = new FakeClock();
  const reader = new FakeReader();
  const keys = new KeyClient(reader, { ttlMs: options.ttlMs ?? 300_000, clock, ...options });
  return { clock, reader, keys };
}

describe('KeyClient', () => {
  it('shares one vault read among concurrent callers for the same secret', async () => {
    // Prepare
    const { reader, keys } = setup();
    const answer = deferred<{ value?: string }>();
    reader.next = () => answer.promise;

    // Act
    const calls = Array.from({ length: 50 }, () => keys.getKey('face-key'));
    answer.resolve({ value: SECRET_VALUE });
    const values = await Promise.all(calls);

    // Assess
    expect(reader.count('face-key')).toBe(1);
    expect(new Set(values)).toEqual(new Set([SECRET_VALUE]));
  });

  it('reads different secrets separately', async () => {
    // Prepare
    const { reader, keys } = setup();

    // Act
    await Promise.all([keys.getKey('a'), keys.getKey('b'), keys.getKey('a')]);

    // Assess
    expect([reader.count('a'), reader.count('b')]).toEqual([1, 1]);
  });

  it('serves the key from memory within the TTL and reads the vault again after it', async () => {
    // Prepare
    const { clock, reader, keys } = setup({ ttlMs: 60_000 });
    await keys.getKey('k');

    // Act
    clock.advance(59_999);
    await keys.getKey('k');
    const readsWithinTtl = reader.count('k');
    clock.advance(1);
    reader.next = () => Promise.resolve({ value: 'rotated' });
    const afterTtl = await keys.getKey('k');

    // Assess
    expect(readsWithinTtl).toBe(1);
    expect(reader.count('k')).toBe(2);
    expect(afterTtl).toBe('rotated');
  });

  it('reads the vault once more on bypassCache, coalescing concurrent bypass reads', async () => {
    // Prepare
    const { reader, keys } = setup();
    await keys.getKey('k');
    const answer = deferred<{ value?: string }>();
    reader.next = () => answer.promise;

    // Act
    const bypasses = Array.from({ length: 10 }, () => keys.getKey('k', { bypassCache: true }));
    const plain = keys.getKey('k');
    answer.resolve({ value: 'rotated' });
    const values = await Promise.all([...bypasses, plain]);

    // Assess
    expect(reader.count('k')).toBe(2);
    expect(new Set(values)).toEqual(new Set(['rotated']));
  });

  it('serves the freshly read key after a bypass read until the TTL ends', async () => {
    // Prepare
    const { reader, keys } = setup();
    await keys.getKey('k');
    reader.next = () => Promise.resolve({ value: 'rotated' });
    await keys.getKey('k', { bypassCache: true });

    // Act
    const value = await keys.getKey('k');

    // Assess
    expect(value).toBe('rotated');
    expect(reader.count('k')).toBe(2);
  });

  it('throws SecretUnavailableError for a missing secret, naming it with its status', async () => {
    // Prepare
    const { reader, keys } = setup();
    reader.next = () => Promise.reject(restError(404, {}, 'SecretNotFound'));

    // Act
    const error = await caught(keys.getKey('missing-key'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    const e = error as SecretUnavailableError;
    expect(e.secretName).toBe('missing-key');
    expect(e.message).toContain('"missing-key"');
    expect(e.options.httpStatus).toBe(404);
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('remembers a failure for failureTtlMs and reads again after it', async () => {
    // Prepare
    const { clock, reader, keys } = setup({ failureTtlMs: 30_000 });
    reader.next = () => Promise.reject(restError(403, {}, 'Forbidden'));
    const first = await caught(keys.getKey('k'));

    // Act
    clock.advance(29_999);
    const remembered = await caught(keys.getKey('k'));
    const readsWhileRemembered = reader.count('k');
    clock.advance(1);
    reader.next = () => Promise.resolve({ value: SECRET_VALUE });
    const later = await keys.getKey('k');

    // Assess
    expect(first).toBeInstanceOf(SecretUnavailableError);
    expect(remembered).toBe(first);
    expect(readsWhileRemembered).toBe(1);
    expect(later).toBe(SECRET_VALUE);
    expect(reader.count('k')).toBe(2);
  });

  it('remembers a throttled read for its Retry-After and reports the time still to wait', async () => {
    // Prepare
    const { clock, reader, keys } = setup({ failureTtlMs: 5_000 });
    reader.next = () => Promise.reject(restError(429, { 'retry-after': '120' }));
    const first = (await caught(keys.getKey('k'))) as SecretUnavailableError;

    // Act
    clock.advance(100_000);
    const again = (await caught(keys.getKey('k'))) as SecretUnavailableError;

    // Assess
    expect(first.options).toMatchObject({ httpStatus: 429, retryAfterMs: 120_000 });
    expect(again).toBeInstanceOf(SecretUnavailableError);
    expect(again.options.retryAfterMs).toBe(20_000);
    expect(reader.count('k')).toBe(1);
  });

  it('lets a bypassCache read through a remembered failure', async () => {
    // Prepare
    const { reader, keys } = setup();
    reader.next = () => Promise.reject(restError(503));
    await caught(keys.getKey('k'));
    reader.next = () => Promise.resolve({ value: SECRET_VALUE });

    // Act
    const value = await keys.getKey('k', { bypassCache: true });

    // Assess
    expect(value).toBe(SECRET_VALUE);
    expect(reader.count('k')).toBe(2);
  });

  it('forgets a remembered failure after a successful read', async () => {
    // Prepare
    const { clock, reader, keys } = setup({ ttlMs: 1_000 });
    reader.next = () => Promise.reject(restError(500));
    await caught(keys.getKey('k'));
    reader.next = () => Promise.resolve({ value: SECRET_VALUE });
    await keys.getKey('k', { bypassCache: true });

    // Act
    clock.advance(1_000);
    const value = await keys.getKey('k');

    // Assess
    expect(value).toBe(SECRET_VALUE);
    expect(reader.count('k')).toBe(3);
  });

  it('treats an empty secret value as unavailable', async () => {
    // Prepare
    const { reader, keys } = setup();
    reader.next = () => Promise.resolve({ value: '' });

    // Act
    const error = await caught(keys.getKey('k'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).toMatch(/empty/);
  });

  it('reports an unreachable vault as SecretUnavailableError', async () => {
    // Prepare
    const { reader, keys } = setup();
    reader.next = () => Promise.reject(restError(undefined, {}, 'ECONNREFUSED'));

    // Act
    const error = await caught(keys.getKey('k'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).toMatch(/could not be reached ECONNREFUSED/);
    expect((error as SecretUnavailableError).options.httpStatus).toBeUndefined();
  });

  it('abandons a vault read that does not answer within readTimeoutMs', async () => {
    // Prepare
    const { reader, keys } = setup({ readTimeoutMs: 50 });
    reader.next = () => new Promise<{ value?: string }>(() => undefined);
    const started = Date.now();

    // Act
    const error = await caught(keys.getKey('k'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).toMatch(/did not answer within 50 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(reader.signals[0]?.aborted).toBe(true);
  });

  it('stops only the aborted caller from waiting; the shared read still serves the others', async () => {
    // Prepare
    const { reader, keys } = setup();
    const answer = deferred<{ value?: string }>();
    reader.next = () => answer.promise;
    const controller = new AbortController();
    const aborted = keys.getKey('k', { abortSignal: controller.signal });
    const other = keys.getKey('k');

    // Act
    controller.abort(new Error('cycle deadline'));
    const abortError = await caught(aborted);
    answer.resolve({ value: SECRET_VALUE });

    // Assess
    expect((abortError as Error).message).toBe('cycle deadline');
    expect(await other).toBe(SECRET_VALUE);
    expect(reader.count('k')).toBe(1);
  });

  it('refuses an invalid secret name without reading the vault', async () => {
    // Prepare
    const { reader, keys } = setup();

    // Act
    const error = await caught(keys.getKey('../keys/x'));

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect(reader.reads.size).toBe(0);
  });

  it('reads again after invalidate', async () => {
    // Prepare
    const { reader, keys } = setup();
    await keys.getKey('k');

    // Act
    keys.invalidate('k');
    await keys.getKey('k');

    // Assess
    expect(reader.count('k')).toBe(2);
  });

  it('never puts a secret value or the cause message into the error it throws', async () => {
    // Prepare
    const { clock, reader, keys } = setup({ ttlMs: 1_000 });
    await keys.getKey('k');
    clock.advance(1_000);
    reader.next = () => Promise.reject(restError(403, {}, 'Forbidden'));
    const other = setup();
    other.reader.next = () => Promise.reject(new Error(`strange failure mentioning ${SECRET_VALUE}`));

    // Act
    const errors = [await caught(keys.getKey('k')), await caught(other.keys.getKey('k'))] as Error[];

    // Assess
    for (const error of errors) {
      expect(error).toBeInstanceOf(SecretUnavailableError);
      expect(error.message).not.toContain(SECRET_VALUE);
      expect(String(error)).not.toContain(SECRET_VALUE);
    }
    expect(util.inspect(errors[0], { depth: 4 })).not.toContain(SECRET_VALUE);
  });
});
