import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Identity } from '../shared/model';
import { createSimulatedApis, type KindMethods } from './simulator/registry';
import {
  json,
  validDuration,
  type Answer,
  type KindErrorAnswers,
  type SimulatedApi,
  type SimulatedRun,
} from './simulator/types';

/**
 * A real local HTTP server that speaks the training-status API of every kind (docs/spec.md §2), for the local run
 * (`npm start`) and the test suites. This file is the server: keys (each kind's own key header), the per-resource
 * rate limit, injected faults and the call records. Each kind's API lives in `dev/simulator/<kind>.ts` behind the
 * `SimulatedApi` interface (`dev/simulator/types.ts`), listed in `dev/simulator/registry.ts`.
 *
 * Its clock is injectable: every training state, every recorded call time and the rate-limit window follow
 * `options.now`. Latency and fault hangs use real time.
 */

// ---------------------------------------------------------------------------------------------------------------
// Public types

/** The kind whose API owns the path (e.g. `face.personGroup`), or `other`. */
export type CallKind = string;

export interface CallRecord {
  /** Simulator clock at arrival. */
  at: Date;
  method: string;
  /** The path as received (still percent-encoded), without the query. */
  path: string;
  query: Record<string, string>;
  kind: CallKind;
  /** The key header of the kind (e.g. `Ocp-Apim-Subscription-Key`) as received. */
  key: string | undefined;
  /** HTTP status answered; 0 when no HTTP answer was given (injected hang or reset). */
  status: number;
}

export interface RateLimit {
  calls: number;
  periodMs: number;
  /** Send `Retry-After` (seconds) with the 429. Default true. */
  retryAfterHeader?: boolean;
}

export type FaultResponse =
  | { status: number; headers?: Record<string, string>; body?: string | object }
  | { hang: true }
  | { reset: true }
  | { redirectTo: string; status?: 301 | 302 | 307 | 308 };

export interface Fault {
  /** All given conditions must hold. `path` is tested against the request target (path and query, as received). */
  match?: { path?: RegExp; kind?: CallKind };
  /** How many requests this fault answers; default 1; `Infinity` allowed. */
  times?: number;
  response: FaultResponse;
}

export interface UpstreamSimulatorOptions {
  port?: number;
  host?: string;
  /** Accepted keys (every kind); default `['sim-key']`. */
  keys?: string[];
  /** The simulator's clock; default real time. */
  now?: () => Date;
  /** Per server (= one simulated resource), sliding window over accepted calls, on the simulator clock. */
  rateLimit?: RateLimit;
  /** Real-time delay before each answer. */
  latencyMs?: number;
}

/** A demo job: its kind and identity (the caller adds `endpoint` and `keySecretName` to register it). */
export interface DemoJob {
  kind: string;
  identity: Identity;
}

export interface UpstreamSimulatorCore {
  /** e.g. `http://127.0.0.1:41234` */
  readonly origin: string;
  /** Every request received, in arrival order. */
  readonly calls: ReadonlyArray<CallRecord>;
  resetCalls(): void;
  /** The most recorded calls (matching `filter`) within any window of `periodMs` on the simulator clock. */
  maxCallsInWindow(periodMs: number, filter?: (call: CallRecord) => boolean): number;

  /** Kind-neutral setup, for tests and benchmarks over every kind: a job following a generic run. */
  addJob(kind: string, identity: Identity, run: SimulatedRun): void;
  removeJob(kind: string, identity: Identity): void;
  /** A valid identity of `kind` made from `seed` (distinct seeds give distinct identities). */
  sampleIdentity(kind: string, seed: string): Identity;
  /** The docs/spec.md §4 error answers of `kind`, as its service sends them. */
  errorsOf(kind: string): KindErrorAnswers;
  /** The kinds this simulator speaks (the kind registry's order). */
  readonly kinds: readonly string[];
  /** Adds every kind's demo jobs (they move through their statuses within two minutes of `now`). */
  addDemoJobs(now: Date): DemoJob[];

  setKeys(keys: string[]): void;
  setRateLimit(rateLimit: RateLimit | undefined): void;
  setLatencyMs(latencyMs: number): void;

  /** Faults answer before the normal behaviour, first matching fault first; they skip key and rate-limit checks. */
  injectFault(fault: Fault): void;
  clearFaults(): void;
  /** Faults not yet used up. */
  pendingFaults(): number;

  /** Closes the server and destroys every open connection (hung requests included). */
  stop(): Promise<void>;
}

/** The simulator: the server's methods plus every kind's own setup methods (`addFaceGroup`, ...). */
export type UpstreamSimulator = UpstreamSimulatorCore & KindMethods;

interface StoredFault {
  fault: Fault;
  remaining: number;
}

export async function startUpstreamSimulator(
  options: UpstreamSimulatorOptions = {},
): Promise<UpstreamSimulator> {
  const now = options.now ?? ((): Date => new Date());
  let keys = new Set(options.keys ?? ['sim-key']);
  let rateLimit = options.rateLimit;
  let latencyMs = options.latencyMs ?? 0;
  const { apis, methods } = createSimulatedApis();
  const byKind = new Map(apis.map((api) => [api.adapter.kind, api]));
  const apiOf = (kind: string): SimulatedApi => {
    const api = byKind.get(kind);
    if (!api) throw new Error(`the simulator does not speak kind '${kind}'`);
    return api;
  };
  const calls: CallRecord[] = [];
  let faults: StoredFault[] = [];
  /** Simulator-clock times (ms) of accepted calls, oldest first. */
  let accepted: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopping: Promise<void> | undefined;

  function takeFault(target: string, kind: CallKind): FaultResponse | undefined {
    for (const stored of faults) {
      const match = stored.fault.match;
      if (match?.kind !== undefined && match.kind !== kind) continue;
      if (match?.path) {
        match.path.lastIndex = 0;
        if (!match.path.test(target)) continue;
      }
      stored.remaining -= 1;
      if (stored.remaining <= 0) faults = faults.filter((f) => f !== stored);
      return stored.fault.response;
    }
    return undefined;
  }

  function faultAnswer(response: FaultResponse): Answer {
    if ('redirectTo' in response) {
      return {
        type: 'http',
        status: response.status ?? 302,
        headers: { location: response.redirectTo },
        body: '',
      };
    }
    if ('hang' in response) return { type: 'hang' };
    if ('reset' in response) return { type: 'reset' };
    if (response.body === undefined)
      return { type: 'http', status: response.status, headers: { ...response.headers }, body: '' };
    return json(response.status, response.body, response.headers);
  }

  /** Sliding window on the simulator clock; returns the seconds to wait when the call is over the limit. */
  function overLimit(nowMs: number): number | undefined {
    if (!rateLimit) return undefined;
    const { calls: limit, periodMs } = rateLimit;
    accepted = accepted.filter((t) => t > nowMs - periodMs);
    if (accepted.length < limit) {
      accepted.push(nowMs);
      return undefined;
    }
    const oldest = accepted[accepted.length - limit] ?? nowMs;
    return Math.max(1, Math.ceil((oldest + periodMs - nowMs) / 1000));
  }

  function normalAnswer(
    api: SimulatedApi | undefined,
    method: string,
    url: URL,
    key: string | undefined,
    nowMs: number,
  ): Answer {
    if (!api) return json(404, { error: { code: '404', message: 'Resource not found' } });
    if (key === undefined || !keys.has(key)) return json(401, api.unauthorizedBody());
    const waitSeconds = overLimit(nowMs);
    if (waitSeconds !== undefined) {
      const headers: Record<string, string> =
        rateLimit?.retryAfterHeader === false ? {} : { 'retry-after': String(waitSeconds) };
      return json(429, api.rateLimitedBody(waitSeconds), headers);
    }
    return api.answer({ method, url, nowMs, origin });
  }

  function deliver(answer: Answer, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (answer.type === 'hang') return; // the socket stays open until the client gives up or stop() destroys it
    if (res.destroyed || req.socket.destroyed) return;
    if (answer.type === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    res.writeHead(answer.status, {
      'apim-request-id': randomUUID(),
      'content-length': String(Buffer.byteLength(answer.body)),
      ...answer.headers,
    });
    res.end(answer.body);
  }

  const server = http.createServer((req, res) => {
    req.resume();
    const at = now();
    const target = req.url ?? '/';
    const url = new URL(target, 'http://simulator.invalid');
    const api = apis.find((candidate) => candidate.owns(url.pathname));
    const kind = api?.adapter.kind ?? 'other';
    // Each kind reads its own key header; a request no kind owns is answered 404 without looking.
    const rawKey = api ? req.headers[api.adapter.keyHeader.toLowerCase()] : undefined;
    const key = Array.isArray(rawKey) ? rawKey.join(', ') : rawKey;
    const method = req.method ?? 'GET';
    const fault = takeFault(target, kind);
    const answer = fault ? faultAnswer(fault) : normalAnswer(api, method, url, key, at.getTime());
    calls.push({
      at,
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      kind,
      key,
      status: answer.type === 'http' ? answer.status : 0,
    });
    if (latencyMs > 0 && answer.type !== 'hang') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        deliver(answer, req, res);
      }, latencyMs);
      timers.add(timer);
    } else {
      deliver(answer, req, res);
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const origin = `http://${hostPart}:${address.port}`;

  return {
    origin,
    calls,
    resetCalls: () => {
      calls.length = 0;
    },
    maxCallsInWindow: (periodMs, filter) => {
      const times = calls
        .filter((c) => (filter ? filter(c) : true))
        .map((c) => c.at.getTime())
        .sort((a, b) => a - b);
      let best = 0;
      let first = 0;
      for (let last = 0; last < times.length; last += 1) {
        while ((times[last] ?? 0) - (times[first] ?? 0) >= periodMs) first += 1;
        best = Math.max(best, last - first + 1);
      }
      return best;
    },
    ...methods,
    kinds: apis.map((api) => api.adapter.kind),
    addJob: (kind, identity, run) => apiOf(kind).addJob(identity, run),
    removeJob: (kind, identity) => apiOf(kind).removeJob(identity),
    sampleIdentity: (kind, seed) => apiOf(kind).sampleIdentity(seed),
    errorsOf: (kind) => apiOf(kind).errors,
    addDemoJobs: (at) =>
      apis.flatMap((api) => api.addDemoJobs(at).map((identity) => ({ kind: api.adapter.kind, identity }))),
    setKeys: (next) => {
      keys = new Set(next);
    },
    setRateLimit: (next) => {
      rateLimit = next;
      accepted = [];
    },
    setLatencyMs: (ms) => {
      latencyMs = validDuration(ms, 'latencyMs');
    },
    injectFault: (fault) => {
      const times = fault.times ?? 1;
      if (!(times >= 1)) throw new Error('times must be >= 1');
      faults.push({ fault, remaining: times });
    },
    clearFaults: () => {
      faults = [];
    },
    pendingFaults: () => faults.length,
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}
