import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One metric of an Application Insights metric envelope, with the envelope's dimensions. */
export interface ReceivedMetric {
  iKey: string;
  name: string;
  value: number;
  count: number;
  properties: Record<string, string>;
}

export interface IngestionStandIn {
  /** `https://127.0.0.1:PORT` */
  readonly endpoint: string;
  /** The connection string that sends this component's telemetry here. */
  readonly connectionString: string;
  /** Every POST received (path, headers). */
  readonly requests: { path: string; headers: http.IncomingHttpHeaders }[];
  /** Every metric received, in arrival order. */
  readonly metrics: ReceivedMetric[];
  /** Waits until `predicate` holds over the metrics received (polling), or throws after `timeoutMs`. */
  waitFor(predicate: (metrics: readonly ReceivedMetric[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const TEST_INSTRUMENTATION_KEY = '5f0c2a9e-1b7d-4e3a-8c6f-0d9b2e4a7c13';

interface Envelope {
  name?: string;
  iKey?: string;
  data?: {
    baseType?: string;
    baseData?: {
      metrics?: { name: string; value: number; count?: number }[];
      properties?: Record<string, string>;
    };
  };
}

/**
 * The Application Insights ingestion endpoint (`POST /v2.1/track`) on a loopback port, over https with the given
 * certificate (the exporter sends to https whatever the connection string says): accepts every envelope (as
 * Breeze answers: `itemsReceived`, `itemsAccepted`) and keeps the metric ones.
 */
export async function startIngestionStandIn(tls: { cert: string; key: string }): Promise<IngestionStandIn> {
  const requests: IngestionStandIn['requests'] = [];
  const metrics: ReceivedMetric[] = [];
  const server = https.createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers });
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const text = body.toString('utf8').trim();
      // Breeze takes a JSON array, or one envelope per line.
      const envelopes = (
        text.startsWith('[') ? JSON.parse(text) : text.split('\n').map((l) => JSON.parse(l) as unknown)
      ) as Envelope[];
      for (const e of envelopes) {
        if (e.data?.baseType !== 'MetricData') continue;
        for (const m of e.data.baseData?.metrics ?? [])
          metrics.push({
            iKey: e.iKey ?? '',
            name: m.name,
            value: m.value,
            count: m.count ?? 1,
            properties: e.data.baseData?.properties ?? {},
          });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ itemsReceived: envelopes.length, itemsAccepted: envelopes.length, errors: [] }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    connectionString: `InstrumentationKey=${TEST_INSTRUMENTATION_KEY};IngestionEndpoint=${endpoint}/`,
    requests,
    metrics,
    waitFor: async (predicate, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(metrics)) {
        if (Date.now() > deadline) throw new Error(`not received in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
