import type { HttpResponseInit } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { memoryTables } from '../../dev/memoryTables';
import { VirtualClock } from '../../dev/virtualClock';
import type { Services } from '../../functions/buildServices';
import { parsePreferWait } from '../../shared/api/statusWaits';
import type { JobStore } from '../../shared/store/types';
import { ORIGIN, T0, unitServices } from '../support/unitServices';

const MINUTE = 60_000;

/** A store that counts its reads of one job (the point reads a status answer or a waiter makes). */
function countingReads(counter: { reads: number }): (store: JobStore) => JobStore {
  return (store) =>
    new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'getStatus' || property === 'getForPoll' || property === 'get') counter.reads++;
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
}

/**
 * Two processes of one app over the same tables and virtual clock: `poller` runs the cycles (and serves long-polls
 * in the first tests), `server` only serves long-polls and counts its Table reads.
 */
function twoProcesses(options: { settings?: Record<string, string> } = {}) {
  const clock = new VirtualClock(T0);
  const tables = memoryTables();
  const counter = { reads: 0 };
  const poller = unitServices({ clock, tables, ...options });
  const server = unitServices({ clock, tables, wrapStore: countingReads(counter), ...options });
  return { clock, poller: poller.services, server: server.services, counter };
}

/** Two processes and a job the poller has polled once (next check a minute later); the server's reads counted from here. */
async function polledJob(): Promise<ReturnType<typeof twoProcesses> & { id: string; etag: string }> {
  const processes = twoProcesses();
  const id = await registered(processes.poller);
  await runCycles(processes.poller, processes.clock, T0 + MINUTE);
  const etag = await etagOf(processes.server, id);
  processes.counter.reads = 0;
  return { ...processes, id, etag };
}

async function registered(services: Services): Promise<string> {
  const response = await services.api.register(
    JSON.stringify({ kind: 'face.personGroup', endpoint: ORIGIN, keySecretName: 'k', personGroupId: 'g' }),
    'application/json',
    'http://localhost',
  );
  return (response.jsonBody as { id: string }).id;
}

/** Runs the poll cycle at every POLL_SCHEDULE occurrence up to `untilMs`, `lateMs` after each; returns when each was stored. */
async function runCycles(
  services: Services,
  clock: VirtualClock,
  untilMs: number,
  lateMs = 0,
): Promise<number[]> {
  const stored: number[] = [];
  let at = services.config.pollSchedule.next(clock.now());
  while (at && at.getTime() + lateMs <= untilMs) {
    await clock.sleep(at.getTime() + lateMs - clock.nowMs());
    const report = await services.poller.runCycle();
    if (report.polled > 0) stored.push(clock.nowMs());
    at = services.config.pollSchedule.next(at);
  }
  return stored;
}

function header(response: HttpResponseInit, name: string): string | undefined {
  return (response.headers as Record<string, string> | undefined)?.[name];
}

/** The job's status ETag now, as a client holds it. */
async function etagOf(services: Services, id: string): Promise<string> {
  return header(await services.api.getStatus(id, null), 'etag')!;
}

describe('reading a job status with Prefer: wait', () => {
  it('answers 200 within 5 s of a poll made by another process, with two reads for the poll', async () => {
    // Prepare
    const { clock, poller, server, counter } = twoProcesses();
    const id = await registered(poller);
    await runCycles(poller, clock, T0 + MINUTE); // first poll: running, next check a minute later
    const etag = await etagOf(server, id);
    counter.reads = 0;

    // Act
    const cycles = runCycles(poller, clock, T0 + 2 * MINUTE);
    const response = await server.api.getStatus(id, etag, { prefer: 'wait=200' });
    const answeredAt = clock.nowMs();
    const [polledAt] = await cycles;

    // Assess
    expect(response.status).toBe(200);
    expect(header(response, 'etag')).not.toBe(etag);
    expect(header(response, 'preference-applied')).toBe('wait=200');
    expect(answeredAt - polledAt!).toBeGreaterThanOrEqual(0);
    expect(answeredAt - polledAt!).toBeLessThanOrEqual(5_000);
    expect(counter.reads).toBeLessThanOrEqual(2);
  });

  it('is woken at the poll itself when the poll is stored in its own process', async () => {
    // Prepare
    const { clock, poller } = twoProcesses();
    const id = await registered(poller);
    await runCycles(poller, clock, T0 + MINUTE);
    const etag = await etagOf(poller, id);

    // Act
    const cycles = runCycles(poller, clock, T0 + 2 * MINUTE);
    const response = await poller.api.getStatus(id, etag, { prefer: 'wait=100' });
    const answeredAt = clock.nowMs();
    const [polledAt] = await cycles;

    // Assess
    expect(response.status).toBe(200);
    expect(answeredAt).toBe(polledAt);
  });

  it('keeps to two reads per poll per waiter with ten waiters on one job looping for ten minutes', async () => {
    // Prepare
    const { clock, poller, server, counter } = twoProcesses();
    const id = await registered(poller);
    await runCycles(poller, clock, T0 + MINUTE);
    const end = T0 + 11 * MINUTE;
    const first = await etagOf(server, id);
    counter.reads = 0;
    const client = async (): Promise<number> => {
      let etag = first;
      let changes = 0;
      while (clock.nowMs() < end - 5_000) {
        const response = await server.api.getStatus(id, etag, { prefer: 'wait=200' });
        if (response.status === 200) changes++;
        etag = header(response, 'etag')!;
      }
      return changes;
    };

    // Act
    const cycles = runCycles(poller, clock, end);
    const changes = await Promise.all(Array.from({ length: 10 }, client));
    const polls = (await cycles).length;

    // Assess
    expect(polls).toBe(10);
    expect(changes.every((n) => n >= polls - 1)).toBe(true);
    expect(counter.reads / (polls * 10)).toBeLessThanOrEqual(2);
  });

  it('answers within 5 s of a late poll, reading every few seconds rather than in a loop', async () => {
    // Prepare
    const { clock, poller, server, counter, id, etag } = await polledJob();

    // Act: the poll comes 20 s after its cycle (a budget slot handed to the polls queue)
    const cycles = runCycles(poller, clock, T0 + 2 * MINUTE + 20_000, 20_000);
    const response = await server.api.getStatus(id, etag, { prefer: 'wait=200' });
    const answeredAt = clock.nowMs();
    const [polledAt] = await cycles;

    // Assess
    expect(response.status).toBe(200);
    expect(answeredAt - polledAt!).toBeLessThanOrEqual(5_000);
    // 1 + the read 1.5 s after the cycle + reads 2, 3, 4, 4, 4, 4 s apart until the one that sees the poll
    expect(counter.reads).toBeLessThanOrEqual(8);
  });

  it('answers 304 after N seconds with a single read when no poll falls in the wait', async () => {
    // Prepare
    const { clock, server, counter, id, etag } = await polledJob();
    const askedAt = clock.nowMs();

    // Act
    const response = await server.api.getStatus(id, etag, { prefer: 'wait=30' });

    // Assess
    expect(response.status).toBe(304);
    expect(clock.nowMs() - askedAt).toBe(30_000);
    expect(header(response, 'etag')).toBe(etag);
    expect(header(response, 'preference-applied')).toBe('wait=30');
    expect(counter.reads).toBe(1);
    expect(server.statusWaits.waiting()).toBe(0);
  });

  it('clamps a wait over 200 s to 200 and says so', async () => {
    // Prepare: no cycle runs, so the status does not change
    const { clock, server, id, etag } = await polledJob();
    const askedAt = clock.nowMs();

    // Act
    const response = await server.api.getStatus(id, etag, { prefer: 'wait=999' });

    // Assess
    expect(response.status).toBe(304);
    expect(header(response, 'preference-applied')).toBe('wait=200');
    expect(clock.nowMs() - askedAt).toBe(200_000);
  });

  it('answers at once, with one read and as before, without Prefer or without If-None-Match', async () => {
    // Prepare
    const { clock, server, counter, id, etag } = await polledJob();
    const askedAt = clock.nowMs();

    // Act
    const noPrefer = await server.api.getStatus(id, etag);
    const noCondition = await server.api.getStatus(id, null, { prefer: 'wait=60' });
    const stale = await server.api.getStatus(id, '"other"', { prefer: 'wait=60' });

    // Assess
    expect(clock.nowMs()).toBe(askedAt);
    expect(noPrefer.status).toBe(304);
    expect(header(noPrefer, 'preference-applied')).toBeUndefined();
    expect(noCondition.status).toBe(200);
    expect(header(noCondition, 'preference-applied')).toBeUndefined();
    expect(stale.status).toBe(200);
    expect(header(stale, 'preference-applied')).toBe('wait=60');
    expect(counter.reads).toBe(3);
  });

  it('frees the waiter and makes no more reads when the client goes away', async () => {
    // Prepare
    const { clock, server, counter, id, etag } = await polledJob();
    const gone = new AbortController();

    // Act
    const answer = server.api.getStatus(id, etag, { prefer: 'wait=200', abortSignal: gone.signal });
    await clock.sleep(10_000);
    const waitingBefore = server.statusWaits.waiting();
    gone.abort(new Error('client closed'));
    await answer;
    await clock.sleep(3 * MINUTE);

    // Assess
    expect(waitingBefore).toBe(1);
    expect(server.statusWaits.waiting()).toBe(0);
    expect(counter.reads).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('answers 404 at the next read when the job is deleted during the wait', async () => {
    // Prepare
    const { poller, server, id, etag } = await polledJob();

    // Act
    const answer = server.api.getStatus(id, etag, { prefer: 'wait=200' }).then(
      () => 'answered',
      (e: unknown) => (e as { status?: number }).status,
    );
    await poller.store.delete(id);

    // Assess
    expect(await answer).toBe(404);
  });
});

describe('the Prefer header', () => {
  it('reads wait among other preferences and ignores what it cannot read', () => {
    expect(parsePreferWait('wait=10')).toBe(10);
    expect(parsePreferWait('respond-async, Wait = "25"')).toBe(25);
    expect(parsePreferWait('return=minimal; foo, wait=3; x=1')).toBe(3);
    expect(parsePreferWait('wait=-1')).toBeUndefined();
    expect(parsePreferWait('wait=soon')).toBeUndefined();
    expect(parsePreferWait(null)).toBeUndefined();
  });
});
