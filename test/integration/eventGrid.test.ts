/**
 * Event Grid (docs/spec.md §12): the real `EventGridPublisherClient` with a `ManagedIdentityCredential` (the
 * identity stand-in) against a local https topic stand-in that checks the bearer token and the CloudEvents shape.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCert } from '../../dev/certs';
import { startEventGridStandIn, type EventGridStandIn } from '../../dev/eventGridStandIn';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../dev/identityStandIn';
import { trackAll } from '../../dev/virtualClock';
import { EventGridPublisher } from '../../shared/notifications/eventGrid';
import { notificationHarness } from '../support/notificationHarness';
import { faceTraining, T0 } from '../support/unitServices';

let identity: IdentityEndpoint;
let topic: EventGridStandIn;
let cert: { cert: string; key: string };
const savedEnv = {
  IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT,
  IDENTITY_HEADER: process.env.IDENTITY_HEADER,
};

beforeAll(async () => {
  identity = await startIdentityEndpoint();
  process.env.IDENTITY_ENDPOINT = identity.endpoint;
  process.env.IDENTITY_HEADER = identity.header;
  cert = await createSelfSignedCert(['127.0.0.1']);
  topic = await startEventGridStandIn({ tls: cert, validateToken: (t, r) => identity.isValidToken(t, r) });
});

afterAll(async () => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await topic.stop();
  await identity.stop();
});

describe('Event Grid publishing', () => {
  it('publishes every transition as CloudEvents 1.0 with the managed identity, ids matching the webhooks', async () => {
    // Prepare
    const publisher = new EventGridPublisher({
      endpoint: topic.endpoint,
      credential: new ManagedIdentityCredential(),
      tlsCa: cert.cert,
    });
    const h = await notificationHarness({ eventGrid: (clock) => trackAll(publisher, clock) });
    h.subscriptions.add({ id: 'sub-a', url: `${h.receiver.origin}/hook` });
    const jobId = await h.register('g-1');
    h.unit.answer = () =>
      h.clock.nowMs() < T0 + 30_000
        ? faceTraining('running')
        : faceTraining('succeeded', new Date(T0 + 30_000));

    try {
      // Act
      await h.cycle();
      await h.clock.sleep(60_000);
      await h.cycle();

      // Assess
      expect(topic.events.map((e) => [e.type, e.source, e.subject])).toEqual([
        ['Azure.AI.TrainingStatus.StatusChanged', `/jobs/${jobId}`, 'face.personGroup'],
        ['Azure.AI.TrainingStatus.StatusChanged', `/jobs/${jobId}`, 'face.personGroup'],
        ['Azure.AI.TrainingStatus.Completed', `/jobs/${jobId}`, 'face.personGroup'],
      ]);
      for (const e of topic.events) expect(e.specversion).toBe('1.0');
      expect(topic.events[0]!.data).toMatchObject({
        id: jobId,
        status: 'running',
        previousStatus: 'pending',
      });
      expect(topic.events.map((e) => e.id)).toEqual(
        h.receiver.delivered().map((w) => w.headers['webhook-id']),
      );
      expect(identity.requests).toBeGreaterThanOrEqual(1);
    } finally {
      await h.stop();
    }
  });

  it('refuses a publisher without a valid token (the stand-in checks it)', async () => {
    // Prepare: a credential whose token the identity endpoint never issued.
    const publisher = new EventGridPublisher({
      endpoint: topic.endpoint,
      credential: {
        getToken: () => Promise.resolve({ token: 'forged', expiresOnTimestamp: Date.now() + 3_600_000 }),
      },
      tlsCa: cert.cert,
    });
    const before = topic.events.length;

    // Act
    const error = await publisher
      .publish([
        {
          id: 'evt_x',
          type: 'job.statusChanged',
          timestamp: new Date().toISOString(),
          data: {
            id: 'a'.repeat(32),
            kind: 'face.personGroup',
            status: 'running',
            previousStatus: 'pending',
          },
        },
      ])
      .catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ statusCode: 401 });
    expect(topic.events.length).toBe(before);
  });
});
