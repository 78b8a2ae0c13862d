import { describe, expect, it } from 'vitest';
import { SecretUnavailableError } from '../../shared/errors';
import { faceTraining, ORIGIN, unitServices, type UnitServices } from '../support/unitServices';

const BASE = 'http://localhost:7071';

async function register(
  unit: UnitServices,
  groups: readonly string[],
  keySecretName = 'face-key',
): Promise<string[]> {
  const ids: string[] = [];
  for (const personGroupId of groups) {
    const response = await unit.services.api.register(
      JSON.stringify({ kind: 'face.personGroup', endpoint: ORIGIN, keySecretName, personGroupId }),
      'application/json',
      BASE,
    );
    ids.push((response.jsonBody as { id: string }).id);
  }
  return ids;
}

describe('a poll cycle', () => {
  it('polls every due job once, stores its status, and polls none again before its interval', async () => {
    // Prepare
    const unit = unitServices();
    const ids = await register(unit, ['g-1', 'g-2', 'g-3']);

    // Act
    const first = await unit.services.poller.runCycle();
    const second = await unit.services.poller.runCycle();
    const jobs = await Promise.all(ids.map((id) => unit.services.store.get(id)));

    // Assess
    expect(first).toMatchObject({ due: 3, polled: 3, errors: 0 });
    expect(second).toMatchObject({ due: 0, polled: 0 });
    expect(unit.calls).toHaveLength(3);
    expect(jobs.map((job) => job?.state.status)).toEqual(['running', 'running', 'running']);
    for (const job of jobs) expect(Date.parse(job!.state.nextCheckAt!)).toBeGreaterThan(unit.clock.nowMs());
  });

  it('keeps the calls to one resource within its budget by spacing them', async () => {
    // Prepare: 600/min is one call every 100 ms.
    const unit = unitServices();
    await register(unit, ['g-1', 'g-2', 'g-3', 'g-4']);

    // Act
    await unit.services.poller.runCycle();

    // Assess
    const gaps = unit.calls.slice(1).map((call, i) => call.at - unit.calls[i]!.at);
    expect(unit.calls).toHaveLength(4);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(100);
  });

  it('records SecretUnavailable on the job whose key cannot be read, and polls the others', async () => {
    // Prepare
    const unit = unitServices({
      keys: {
        getKey: (name) =>
          name === 'missing-key'
            ? Promise.reject(new SecretUnavailableError('the secret does not exist (404)', name))
            : Promise.resolve('unit-test-key'),
      },
    });
    const [broken] = await register(unit, ['g-broken'], 'missing-key');
    const [fine] = await register(unit, ['g-fine']);

    // Act
    const report = await unit.services.poller.runCycle();
    const brokenJob = await unit.services.store.get(broken!);
    const fineJob = await unit.services.store.get(fine!);

    // Assess
    expect(report).toMatchObject({ due: 2, errors: 1 });
    expect(unit.calls).toHaveLength(1);
    expect(brokenJob?.state.lastError?.code).toBe('SecretUnavailable');
    expect(fineJob?.state).toMatchObject({ status: 'running', lastError: null });
  });

  it('stops calling a resource that answered 429 while its wait lasts', async () => {
    // Prepare
    const unit = unitServices();
    const ids = await register(unit, ['g-1', 'g-2', 'g-3']);
    unit.answer = () => ({
      status: 429,
      headers: new Headers({ 'retry-after': '60', 'content-type': 'application/json' }),
      bodyText: JSON.stringify({ error: { code: '429', message: 'Rate limit is exceeded.' } }),
    });

    // Act
    await unit.services.poller.runCycle();
    const jobs = await Promise.all(ids.map((id) => unit.services.store.get(id)));
    unit.answer = () => faceTraining('running');
    const during = await unit.services.poller.runCycle();

    // Assess
    expect(unit.calls).toHaveLength(1);
    expect(jobs.filter((job) => job?.state.lastError?.code === 'RateLimited')).toHaveLength(1);
    expect(during.polled).toBe(0);
  });
});
