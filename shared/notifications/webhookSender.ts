import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isLoopbackHost } from '../upstream/allowList';
import { parseRetryAfter } from '../upstream/retryAfter';
import { publicOnlyLookup, RefusedAddressError, type Resolver } from './addressCheck';

/** One delivery attempt's answer: an HTTP status, or no answer (`error`). */
export type SendResult =
  | { status: number; retryAfterMs?: number }
  | { error: 'timeout' | 'connection' | 'refusedAddress'; message: string };

export type SendWebhook = (
  url: string,
  request: { headers: Record<string, string>; body: string; abortSignal?: AbortSignal },
) => Promise<SendResult>;

export interface WebhookSenderOptions {
  /** Whole attempt, connect to last byte (docs/spec.md §12: 10 s). */
  timeoutMs: number;
  /** `ALLOWED_WEBHOOK_ORIGINS`: exact origins exempt from the address check (local receivers). */
  allowedOrigins: readonly string[];
  /** The resolver under the address check (default: the system's). */
  resolve?: Resolver;
  /** Extra TLS trust for local receivers (tests, the local stack). */
  ca?: string | Buffer;
}

/** Largest response body read (and discarded) from a receiver. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Sends one webhook: POST, JSON, no redirect followed (a 3xx is an answer, and a failure), the whole attempt cut
 * at `timeoutMs`. The address check runs on the connection itself (the socket's `lookup`); an IP-literal host and
 * plain `http` are only possible for an allowed origin.
 */
export function createWebhookSender(options: WebhookSenderOptions): SendWebhook {
  const lookup: LookupFunction = publicOnlyLookup(options.resolve);
  const allowed = new Set(options.allowedOrigins);
  return (url, request) =>
    new Promise<SendResult>((resolve) => {
      const target = new URL(url);
      const exempt = allowed.has(target.origin);
      const host = target.hostname.replace(/^\[|\]$/g, '');
      if (!exempt && (target.protocol !== 'https:' || isIP(host) !== 0 || isLoopbackHost(target.hostname))) {
        resolve({ error: 'refusedAddress', message: `Webhook URL ${target.origin} is not allowed` });
        return;
      }
      let settled = false;
      const finish = (result: SendResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.abortSignal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const transport = target.protocol === 'https:' ? https : http;
      const body = Buffer.from(request.body, 'utf8');
      const req = transport.request(target, {
        method: 'POST',
        headers: {
          ...request.headers,
          'content-type': 'application/json',
          'content-length': String(body.length),
          'user-agent': 'training-status-cache-webhooks/1',
        },
        agent: false,
        ...(exempt ? {} : { lookup }),
        ...(options.ca ? { ca: options.ca } : {}),
      });
      const timer = setTimeout(() => {
        req.destroy();
        finish({ error: 'timeout', message: `No answer within ${options.timeoutMs} ms` });
      }, options.timeoutMs);
      const onAbort = (): void => {
        req.destroy();
        finish({ error: 'connection', message: 'aborted' });
      };
      request.abortSignal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error) => {
        if (error instanceof RefusedAddressError) {
          finish({ error: 'refusedAddress', message: error.message });
        } else {
          finish({ error: 'connection', message: error.message });
        }
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'], new Date());
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        const done = (): void => finish(retryAfterMs !== undefined ? { status, retryAfterMs } : { status });
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      });
      req.end(body);
    });
}
