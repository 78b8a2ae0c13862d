import http from 'node:http';

/**
 * Sends a request with its target exactly as written (fetch would normalize `%2e%2e`, `//` and friends first) to
 * the server at `baseUrl`; resolves with the status and the body as text.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  target: string,
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: hostname, port, method, path: target }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on('error', reject);
    request.end();
  });
}
