import { describe, expect, it } from 'vitest';
import { newStore } from '../support/tableStore';

describe('TableJobStore poll state against Azurite', () => {
  it('resource state saves conditionally: a second insert or a stale etag loses', async () => {
    // Prepare
    const { store } = await newStore();
    const resource = '[::1]:7072';
    const created = await store.saveResourceState({ resource, nextSlotAt: '2030-01-01T00:00:00.000Z' });
    const read = await store.getResourceState(resource);
    const updated = await store.saveResourceState({
      resource,
      nextSlotAt: '2030-01-01T00:00:03.000Z',
      pausedUntil: '2030-01-01T01:00:00.000Z',
      pauseCode: 'QuotaExceeded',
      pauseMessage: 'Out of call volume quota',
      etag: read!.etag!,
    });

    // Act
    const secondInsert = await store.saveResourceState({ resource, nextSlotAt: '2030-01-01T00:00:09.000Z' });
    const staleUpdate = await store.saveResourceState({
      resource,
      nextSlotAt: '2030-01-01T00:00:09.000Z',
      etag: read!.etag!,
    });
    await store.saveResourceState({
      resource: 'other.cognitiveservices.azure.com',
      nextSlotAt: '2030-01-01T00:00:00.000Z',
    });
    const all = await store.listResourceStates();

    // Assess
    expect([created, updated, secondInsert, staleUpdate]).toEqual([true, true, false, false]);
    const { etag, ...current } = all.get(resource) ?? { resource: '' };
    expect(etag).toEqual(expect.any(String));
    expect(etag).not.toBe(read!.etag);
    expect(current).toStrictEqual({
      resource,
      nextSlotAt: '2030-01-01T00:00:03.000Z',
      pausedUntil: '2030-01-01T01:00:00.000Z',
      pauseCode: 'QuotaExceeded',
      pauseMessage: 'Out of call volume quota',
    });
    expect([...all.keys()].sort()).toEqual(['[::1]:7072', 'other.cognitiveservices.azure.com']);
    expect(await store.getResourceState('missing.example')).toBeUndefined();
  });

  it('the cycle summary round-trips and is absent before the first cycle', async () => {
    // Prepare
    const { store } = await newStore();
    const before = await store.getCycleSummary();
    const summary = {
      startedAt: '2030-01-01T00:00:00.000Z',
      finishedAt: '2030-01-01T00:00:02.500Z',
      polled: 12,
      errors: 1,
      upstreamErrors: 4,
    };

    // Act
    await store.saveCycleSummary({ ...summary, polled: 3 });
    await store.saveCycleSummary(summary);
    const after = await store.getCycleSummary();

    // Assess
    expect(before).toBeUndefined();
    expect(after).toStrictEqual(summary);
  });
});
