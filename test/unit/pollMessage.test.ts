import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessageText, readQueuesExtension, triggerValue } from '../../dev/queueSettings';
import { InvalidQueueMessageError } from '../../shared/errors';
import { encodeQueueMessage, parsePollMessage } from '../../shared/queue/message';
import type { PollMessage } from '../../shared/queue/types';
import { problemsOf } from '../support/problems';

const valid: PollMessage = {
  v: 1,
  jobId: 'fc1b2c3d',
  claim: '5b0c2f0e-1d2a-4c1b-9e8f-0a1b2c3d4e5f',
  slotAt: '2026-03-01T12:00:03.000Z',
  resource: 'myface.cognitiveservices.azure.com',
};

describe('the polls message on the wire', () => {
  it('round-trips any JSON value through base64 text, as the trigger decodes it', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // Act
        const text = encodeQueueMessage(value);
        const decoded = decodeMessageText(text, 'base64');

        // Assess
        expect(text).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
        expect(triggerValue(decoded!)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('round-trips a poll message, with non-ASCII text, to the same message', () => {
    // Prepare
    const message = { ...valid, jobId: 'gruppe-über-ünïcødé-✓' };

    // Act
    const received = triggerValue(decodeMessageText(encodeQueueMessage(message), 'base64')!);

    // Assess
    expect(parsePollMessage(received)).toEqual(message);
  });

  it('refuses text that is not strict base64, as the Functions host does', () => {
    // Assess
    for (const text of ['{"v":1}', 'abc', 'ab=c', 'a*b=', 'YWJj\u00e9']) {
      expect(decodeMessageText(text, 'base64'), text).toBeUndefined();
    }
    expect(decodeMessageText('YWJj\nZGVm', 'base64')).toBe('abcdef');
    expect(decodeMessageText('{"v":1}', 'none')).toBe('{"v":1}');
  });
});

describe('parsePollMessage', () => {
  it('accepts the object the trigger hands over and the JSON text alike', () => {
    // Assess
    expect(parsePollMessage(valid)).toEqual(valid);
    expect(parsePollMessage(JSON.stringify(valid))).toEqual(valid);
    expect(parsePollMessage({ ...valid, resource: '127.0.0.1:7072' }).resource).toBe('127.0.0.1:7072');
  });

  it('lists every problem of a message that is not a poll message', () => {
    // Act
    const problems = problemsOf(() =>
      parsePollMessage({ v: 2, jobId: '', slotAt: '1 March', resource: 'https://x/', extra: true }),
    );

    // Assess
    expect(problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining(['v', 'jobId', 'claim', 'slotAt', 'resource', '(message)']),
    );
  });

  it('says plainly when the message is not JSON or not an object', () => {
    // Assess
    expect(() => parsePollMessage('just text')).toThrow(/polls message is not JSON/);
    expect(() => parsePollMessage(42)).toThrow(InvalidQueueMessageError);
    expect(() => parsePollMessage(null)).toThrow(/not a poll message/);
  });
});

describe('host.json extensions.queues as the local host reads it', () => {
  it("takes the Functions host's defaults for what is left out", () => {
    // Act
    const settings = readQueuesExtension({ version: '2.0' });

    // Assess
    expect(settings).toEqual({
      batchSize: 16,
      newBatchThreshold: 8,
      maxPollingIntervalMs: 60_000,
      visibilityTimeoutMs: 0,
      maxDequeueCount: 5,
      messageEncoding: 'base64',
    });
  });

  it('reads time spans and refuses values the host would refuse', () => {
    // Act
    const settings = readQueuesExtension({
      extensions: {
        queues: { maxPollingInterval: '00:00:01.5', visibilityTimeout: '00:01:00', batchSize: 4 },
      },
    });

    // Assess
    expect(settings).toMatchObject({
      maxPollingIntervalMs: 1_500,
      visibilityTimeoutMs: 60_000,
      batchSize: 4,
      newBatchThreshold: 2,
    });
    expect(() => readQueuesExtension({ extensions: { queues: { batchSize: 64 } } })).toThrow(/1-32/);
    expect(() => readQueuesExtension({ extensions: { queues: { messageEncoding: 'utf8' } } })).toThrow(
      /messageEncoding/,
    );
    expect(() => readQueuesExtension({ extensions: { queues: { visibilityTimeout: 10 } } })).toThrow(
      /time span/,
    );
  });
});
