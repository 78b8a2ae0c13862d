/**
 * An HTTP request from a chosen loopback source address (127.0.0.2, 127.0.0.3, ...; Linux routes all of 127/8 to
 * loopback), with the path sent as written: the local host appends the socket's address to X-Forwarded-For as the Azure front end does, so tests
 * of per-client limits can act as distinct clients.
 */
import http from 'node:http';

export interface PlainResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export function requestFrom(
  localAddress: string,
  url: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<PlainResponse> {
  return new Promise((resolve, reject) => {
    // The path is sent exactly as written (fetch would normalize `%2e%2e` and friends first).
    const [, origin = '', path = '/'] = /^(https?:\/\/[^/]+)(.*)$/.exec(url) ?? [];
    const request = http.request(
      {
        host: '127.0.0.1',
        port: new URL(origin).port,
        path,
        method: init.method ?? 'GET',
        headers: init.headers ?? {},
        localAddress,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end();
  });
}
