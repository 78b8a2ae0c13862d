import { statusView } from '../api/jobsApi';
import { TERMINAL_STATUSES } from '../model';
import type { OutboxEntry } from '../store/outbox';
import type { EventType, JobEvent } from './types';

/**
 * The events of one stored transition (docs/spec.md §12): `job.statusChanged` always, and `job.completed` when
 * the new status is terminal (a run that ended, or a Face group whose run finished). The id is derived from the
 * job and the transition's key, so a retry, a second fan-out or a racing worker always names the same event.
 */
export function eventsFor(entry: OutboxEntry): JobEvent[] {
  const status = entry.job.state.status;
  const types: EventType[] = ['job.statusChanged'];
  if (TERMINAL_STATUSES.has(status)) types.push('job.completed');
  const data = { ...statusView(entry.job), previousStatus: entry.previousStatus } as JobEvent['data'];
  return types.map((type) => ({
    id: eventId(entry.jobId, entry.transitionKey, type),
    type,
    timestamp: entry.at,
    data,
  }));
}

export function eventId(jobId: string, transitionKey: string, type: EventType): string {
  return `evt_${jobId}_${transitionKey}_${type === 'job.completed' ? 'c' : 's'}`;
}

/** The body every receiver gets: `{type, timestamp, data}`. */
export function eventBody(event: JobEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}
