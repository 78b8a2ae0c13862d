import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../shared/clock';

/** What the receiver does with one request. */
export type ReceiverAnswer = { status: number; headers?: Record<string, string> } | 'drop' | 'hang';

export interface ReceivedWebhook {
  /** Clock time (ms) of receipt. */
  at: number;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** What it answered. */
  answer: ReceiverAnswer;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>`: listed in ALLOWED_WEBHOOK_ORIGINS. */
  origin: string;
  received: ReceivedWebhook[];
  /** Answers per request (default 204). */
  answer: (request: { n: number; path: string }) => ReceiverAnswer;
  /** Answered 2xx, by `webhook-id`. */
  delivered(): ReceivedWebhook[];
  stop(): Promise<void>;
}

/** A real local webhook receiver on an ephemeral port that records every request on `clock`. */
export async function startWebhookReceiver(clock: Clock): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const hanging = new Set<http.ServerResponse>();
  const receiver: Partial<WebhookReceiver> = { received, answer: () => ({ status: 204 }) };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = receiver.answer!({ n: received.length + 1, path: req.url ?? '/' });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      received.push({
        at: clock.now().getTime(),
        path: req.url ?? '/',
        headers,
        body: Buffer.concat(chunks).toString('utf8'),
        answer,
      });
      if (answer === 'drop') {
        req.socket.destroy();
      } else if (answer === 'hang') {
        hanging.add(res);
      } else {
        res.writeHead(answer.status, answer.headers ?? {});
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    origin: `http://127.0.0.1:${port}`,
    delivered: () =>
      received.filter((r) => typeof r.answer === 'object' && r.answer.status >= 200 && r.answer.status < 300),
    stop: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  }) as WebhookReceiver;
}
