import { EventGridPublisherClient } from '@azure/eventgrid';
import type { TokenCredential } from '@azure/identity';
import tls from 'node:tls';
import type { EventPublisher } from './delivery';
import type { JobEvent } from './types';

/** CloudEvents `type` per event type (docs/spec.md §12). */
export const CLOUD_EVENT_TYPES = {
  'job.statusChanged': 'Azure.AI.TrainingStatus.StatusChanged',
  'job.completed': 'Azure.AI.TrainingStatus.Completed',
} as const;

/** The CloudEvents 1.0 form of an event: `source` `/jobs/{id}`, `subject` the job's kind, same id and data. */
export function toCloudEvent(event: JobEvent): {
  id: string;
  type: string;
  source: string;
  subject: string;
  time: Date;
  datacontenttype: string;
  data: JobEvent['data'];
} {
  return {
    id: event.id,
    type: CLOUD_EVENT_TYPES[event.type],
    source: `/jobs/${event.data.id}`,
    subject: event.data.kind,
    time: new Date(event.timestamp),
    datacontenttype: 'application/json',
    data: event.data,
  };
}

/**
 * Publishes events to an Event Grid topic (`EVENT_GRID_TOPIC_ENDPOINT`) as CloudEvents 1.0 with the managed
 * identity (role `EventGrid Data Sender` on the topic). A failure throws: the fan-out is retried.
 */
export class EventGridPublisher implements EventPublisher {
  private readonly client: EventGridPublisherClient<'CloudEvent'>;

  constructor(options: { endpoint: string; credential: TokenCredential; tlsCa?: string }) {
    this.client = new EventGridPublisherClient(options.endpoint, 'CloudEvent', options.credential, {
      retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2_000 },
      ...(options.tlsCa ? { tlsOptions: { ca: [...tls.rootCertificates, options.tlsCa] } } : {}),
    });
  }

  async publish(events: JobEvent[], options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    if (events.length === 0) return;
    await this.client.send(
      events.map(toCloudEvent),
      options.abortSignal ? { abortSignal: options.abortSignal } : {},
    );
  }
}
