/** `npm start -- --role timer|worker|all` (docs/operations.md): what one local host process runs. */
import { describe, expect, it } from 'vitest';
import { hostSwitchesFor, queueLeaseFromArgs, roleFromArgs } from '../../dev/roles';

describe('the local host role', () => {
  it('runs timers and queue triggers when no role is given', () => {
    // Act
    const role = roleFromArgs(['--port', '0']);

    // Assess
    expect(role).toBe('all');
    expect(hostSwitchesFor(role)).toEqual({ runTimers: true, runQueueTriggers: true });
  });

  it('runs only the timers as a timer host, and only the queue triggers as a worker', () => {
    // Act
    const timer = hostSwitchesFor(roleFromArgs(['--role', 'timer']));
    const worker = hostSwitchesFor(roleFromArgs(['--role=worker']));

    // Assess
    expect(timer).toEqual({ runTimers: true, runQueueTriggers: false });
    expect(worker).toEqual({ runTimers: false, runQueueTriggers: true });
  });

  it('refuses an unknown role, naming the ones it knows', () => {
    // Act
    const act = (): unknown => roleFromArgs(['--role', 'both']);

    // Assess
    expect(act).toThrow(/--role: 'both' is not one of all, timer, worker/);
  });

  it('takes a queue lease in whole seconds, and none when the flag is absent', () => {
    // Act
    const given = queueLeaseFromArgs(['--role', 'worker', '--queue-lease-seconds', '3']);
    const absent = queueLeaseFromArgs(['--role', 'worker']);
    const refused = (): unknown => queueLeaseFromArgs(['--queue-lease-seconds=0.5']);

    // Assess
    expect(given).toBe(3_000);
    expect(absent).toBeUndefined();
    expect(refused).toThrow(/--queue-lease-seconds: '0.5'/);
  });
});
