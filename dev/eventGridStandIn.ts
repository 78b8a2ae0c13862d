import https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * A local Event Grid topic stand-in over https (docs/spec.md §12): `POST /api/events` with a bearer token for
 * `https://eventgrid.azure.net` (checked by `validateToken`, e.g. the identity stand-in's `isValidToken`) and a
 * CloudEvents 1.0 batch (`application/cloudevents-batch+json`: an array of events with `specversion` `1.0`, `id`,
 * `source`, `type`, and, here, `subject`, `time` and `data`). It answers as the service does: 200 with an empty
 * body, 401 without a valid token, 400 for a body that is not a CloudEvents batch. Accepted events are kept.
 */
export interface CloudEventRecord {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject?: string;
  time?: string;
  datacontenttype?: string;
  data?: unknown;
}

export interface EventGridStandIn {
  /** `EVENT_GRID_TOPIC_ENDPOINT`: `https://127.0.0.1:<port>/api/events`. */
  readonly endpoint: string;
  readonly events: CloudEventRecord[];
  /** Requests refused, by status. */
  readonly refused: Map<number, number>;
  /** Answers the next `times` requests with `status`. */
  failNext(status: number, times?: number): void;
  stop(): Promise<void>;
}

const RESOURCE = 'https://eventgrid.azure.net';

function problem(record: Record<string, unknown>): string | undefined {
  if (record['specversion'] !== '1.0') return 'specversion must be 1.0';
  for (const field of ['id', 'source', 'type'] as const) {
    if (typeof record[field] !== 'string' || record[field] === '') return `${field} is required`;
  }
  if (
    record['time'] !== undefined &&
    (typeof record['time'] !== 'string' || Number.isNaN(Date.parse(record['time'])))
  )
    return 'time is not a time';
  return undefined;
}

export async function startEventGridStandIn(options: {
  tls: { cert: string; key: string };
  validateToken: (token: string, resource: string) => boolean;
}): Promise<EventGridStandIn> {
  const events: CloudEventRecord[] = [];
  const refused = new Map<number, number>();
  let failures: { status: number; times: number } | undefined;
  const server = https.createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body?: unknown): void => {
        if (status !== 200) refused.set(status, (refused.get(status) ?? 0) + 1);
        res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      const url = new URL(req.url ?? '/', 'https://localhost');
      if (req.method !== 'POST' || url.pathname !== '/api/events') return answer(404);
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!token || !options.validateToken(token, RESOURCE))
        return answer(401, { error: { code: 'Unauthorized', message: 'The request is not authorized.' } });
      if (failures && failures.times > 0) {
        failures.times--;
        return answer(failures.status, { error: { code: 'ServiceUnavailable', message: 'Try again.' } });
      }
      const contentType = req.headers['content-type'] ?? '';
      if (!contentType.startsWith('application/cloudevents-batch+json'))
        return answer(400, {
          error: { code: 'BadRequest', message: `Unexpected content type ${contentType}` },
        });
      let batch: unknown;
      try {
        batch = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return answer(400, { error: { code: 'BadRequest', message: 'Not JSON' } });
      }
      if (!Array.isArray(batch))
        return answer(400, { error: { code: 'BadRequest', message: 'Not an array' } });
      for (const record of batch as Record<string, unknown>[]) {
        const bad = problem(record);
        if (bad) return answer(400, { error: { code: 'BadRequest', message: bad } });
      }
      events.push(...(batch as CloudEventRecord[]));
      answer(200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `https://127.0.0.1:${port}/api/events`,
    events,
    refused,
    failNext: (status, times = 1) => {
      failures = { status, times };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
