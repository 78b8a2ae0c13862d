/**
 * What one local host process runs (`npm start -- --role timer|worker|all`). On Azure every instance runs the
 * timer and the queue trigger, and the platform adds instances; locally, scale-out is several processes over one
 * storage account, and a process may run only one side: `timer` fires the `pollJobs` schedule and takes no queue
 * message, `worker` takes the `polls` messages (`pollJob`) and fires no timer. Every role serves the HTTP routes and
 * the admin endpoint (a `worker` can still run a cycle on `POST /admin/functions/pollJobs`).
 */
import { ConfigError } from '../shared/errors';

export const HOST_ROLES = ['all', 'timer', 'worker'] as const;
export type HostRole = (typeof HOST_ROLES)[number];

/** `--role NAME` or `--role=NAME`; `all` when absent. */
export function roleFromArgs(argv: readonly string[]): HostRole {
  const i = argv.indexOf('--role');
  const inline = argv.find((a) => a.startsWith('--role='))?.slice('--role='.length);
  const value = inline ?? (i >= 0 ? argv[i + 1] : undefined) ?? 'all';
  if (!(HOST_ROLES as readonly string[]).includes(value)) {
    throw new ConfigError([`--role: '${value}' is not one of ${HOST_ROLES.join(', ')}`]);
  }
  return value as HostRole;
}

/**
 * `--queue-lease-seconds N`: how long a message taken by a queue trigger stays invisible while its handler runs
 * (renewed at half; default 10 minutes, as the Functions host). A process killed mid-message leaves it invisible
 * that long: shorter leases let a local fault drill see it come back within seconds.
 */
export function queueLeaseFromArgs(argv: readonly string[]): number | undefined {
  const i = argv.indexOf('--queue-lease-seconds');
  const inline = argv
    .find((a) => a.startsWith('--queue-lease-seconds='))
    ?.slice('--queue-lease-seconds='.length);
  const value = inline ?? (i >= 0 ? argv[i + 1] : undefined);
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 2 || seconds > 3_600) {
    throw new ConfigError([
      `--queue-lease-seconds: '${value}' is not a whole number of seconds from 2 to 3600`,
    ]);
  }
  return seconds * 1000;
}

/** The local host's switches for a role: timers on their schedules, queue triggers on their queues. */
export function hostSwitchesFor(role: HostRole): { runTimers: boolean; runQueueTriggers: boolean } {
  return { runTimers: role !== 'worker', runQueueTriggers: role !== 'timer' };
}
