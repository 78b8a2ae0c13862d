import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EffectiveFunctionOptions, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import { setRequestAbortSignal, type FunctionDefinition } from '../functions/registry';
import { ApiError, methodNotAllowed, notFound, payloadTooLarge, toErrorResponse } from '../shared/api/errors';
import type { Logger } from '../shared/logger';
import { parseSchedule } from '../shared/schedule';
import { effectiveOptions, LocalInvocationContext, type LocalLogHandler } from './localContext';
import { compileRoute, plainPath } from './hostRoutes';
import { LocalHttpRequest } from './localRequest';
import { startQueueTriggers, type QueueTriggerOptions } from './queueTriggers';

/**
 * Longest single timer wait. Node fires a `setTimeout` over 2^31-1 ms (24.8 days) at once, so a run further away
 * (a yearly or monthly schedule) is reached in steps of at most this, each re-computing the remaining wait.
 */
export const MAX_TIMER_STEP_MS = 24 * 60 * 60 * 1000;

/** One log line from a function, as the host would see it. */
export interface HostLogEntry {
  functionName: string;
  invocationId: string;
  level: string;
  message: string;
}

export interface LocalHost {
  url: string;
  port: number;
  /** Runs a non-HTTP function now (what POST /admin/functions/{name} does) and waits for it. */
  runFunction(name: string): Promise<void>;
  stop(): Promise<void>;
}

export interface LocalHostOptions {
  functions: readonly FunctionDefinition[];
  port?: number;
  /** Resolves `%NAME%` in timer schedules, as the Functions host does with app settings. */
  appSettings: Readonly<Record<string, string | undefined>>;
  /** Fire timers on their schedules (off in tests, which run them through /admin/functions). */
  runTimers?: boolean;
  onLog?: (entry: HostLogEntry) => void;
  /** Run the storageQueue rows on their queues (default true, as the host does); settings tuned for local runs. */
  queueTriggers?: false | Pick<QueueTriggerOptions, 'settings' | 'maxPollingIntervalMs' | 'leaseMs'>;
  /** Largest request body read (the Functions front end caps bodies too). */
  maxBodyBytes?: number;
}

/**
 * A thin local stand-in for the Functions host: the same routes under /api, the same handlers, and the admin
 * endpoint Core Tools offers for non-HTTP functions. It serves the function table that functions/index.ts
 * registers with the real host, so `npm start` and `func start` run the same code.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const running = new Map<string, Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  // Per function, built once: the options its invocations report and the handler of its log lines.
  const invocation = new Map<string, { options: EffectiveFunctionOptions; log: LocalLogHandler }>();
  for (const definition of options.functions) {
    const functionName = definition.name;
    invocation.set(functionName, {
      options: effectiveOptions(functionName, TRIGGER_TYPES[definition.trigger]),
      log: (invocationId, level, args) =>
        options.onLog?.({ functionName, invocationId, level, message: args.map(String).join(' ') }),
    });
  }
  const context = (functionName: string, triggerMetadata?: Record<string, unknown>): InvocationContext => {
    const { options: functionOptions, log } = invocation.get(functionName)!;
    return new LocalInvocationContext(functionName, functionOptions, log, triggerMetadata);
  };

  /** The host's own log lines (a refusal of its own, a handler that failed outside the error mapping). */
  const hostLog =
    (level: string) =>
    (message: string, properties?: Record<string, unknown>): void =>
      options.onLog?.({
        functionName: 'host',
        invocationId: '',
        level,
        message: properties ? `${message} ${JSON.stringify(properties)}` : message,
      });
  const hostLogger: Logger = {
    info: hostLog('information'),
    warn: hostLog('warning'),
    error: hostLog('error'),
  };
  /** Every answer the host gives itself is in the API's error shape, mapped where the API maps its own. */
  const refuse = (req: http.IncomingMessage, res: http.ServerResponse, error: unknown): void => {
    req.resume(); // whatever is left of the body is read and dropped, so the connection stays usable
    send(res, toErrorResponse(error, hostLogger), req.method === 'HEAD');
  };

  const runTimer = (
    definition: Extract<FunctionDefinition, { trigger: 'timer' }>,
    isPastDue: boolean,
  ): Promise<void> => {
    const current = running.get(definition.name);
    if (current) return current; // like the host: one run of a timer function at a time
    const timer: Timer = {
      isPastDue,
      schedule: { adjustForDST: false },
      scheduleStatus: { last: '', next: '', lastUpdated: '' },
    };
    const run = Promise.resolve()
      .then(() => definition.handler(timer, context(definition.name)))
      .then(
        () => undefined,
        (error: unknown) =>
          options.onLog?.({
            functionName: definition.name,
            invocationId: '',
            level: 'error',
            message: String(error),
          }),
      )
      .finally(() => running.delete(definition.name));
    running.set(definition.name, run);
    return run;
  };

  // Routes are compiled once: the status read is the hot path and should cost little beyond its storage read.
  const httpRoutes = options.functions.flatMap((definition) =>
    definition.trigger === 'http' ? [{ definition, match: compileRoute(definition.route) }] : [],
  );

  const server = http.createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      if (res.headersSent) res.end();
      else refuse(req, res, error);
    });
  });

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const parse = (): URL => new URL(target, `http://${req.headers.host ?? 'localhost'}`);
    const pathname = plainPath(target) ?? parse().pathname;
    const method = req.method ?? 'GET';
    const admin = pathname.startsWith('/admin/') ? /^\/admin\/functions\/([^/]+)$/.exec(pathname) : null;
    if (admin) {
      if (method !== 'POST') return refuse(req, res, methodNotAllowed(method, ['POST']));
      if ((await readBody(req, maxBodyBytes)) === undefined)
        return refuse(req, res, payloadTooLarge(maxBodyBytes));
      const name = decodeURIComponent(admin[1]!);
      const definition = options.functions.find((f) => f.name === name);
      if (!definition) return refuse(req, res, notFound(`No function is named ${name}.`, 'name'));
      if (definition.trigger !== 'timer') {
        return refuse(
          req,
          res,
          new ApiError(400, 'InvalidArgument', `${name} is not a timer function.`, 'name'),
        );
      }
      void runTimer(definition, false);
      return send(res, { status: 202 });
    }
    const noRoute = (): ApiError => notFound(`No route answers ${pathname}.`);
    // Routes compare case-insensitively, the /api prefix too, as the Functions host routes them.
    const lowerPath = pathname.toLowerCase();
    if (!lowerPath.startsWith('/api/')) return refuse(req, res, noRoute());
    const segments = pathname.slice('/api/'.length).split('/');
    const lowerSegments = lowerPath.slice('/api/'.length).split('/');
    let allowed: Set<string> | undefined;
    for (const { definition, match } of httpRoutes) {
      const params = match(segments, lowerSegments);
      if (!params) continue;
      if (!definition.methods.includes(method as (typeof definition.methods)[number])) {
        allowed ??= new Set();
        for (const m of definition.methods) allowed.add(m);
        continue;
      }
      // A request without a body has nothing left to read: node's parser is already done with it.
      const body = hasBody(req) ? await readBody(req, maxBodyBytes) : EMPTY;
      if (body === undefined) return refuse(req, res, payloadTooLarge(maxBodyBytes));
      const headers: Record<string, string> = {};
      const given = req.headers;
      for (const name in given) {
        const value = given[name];
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      // As the Azure front end does: the caller's address appended to X-Forwarded-For (drop-in attempt limits).
      const remote = req.socket.remoteAddress;
      if (remote !== undefined) {
        const forwarded = headers['x-forwarded-for'];
        headers['x-forwarded-for'] = forwarded ? `${forwarded}, ${remote}` : remote;
      }
      const request = new LocalHttpRequest({
        method,
        url: parse,
        headers,
        params,
        body,
      });
      // A client that goes away aborts the request's signal (a long-poll stops waiting); built only when asked.
      setRequestAbortSignal(request, onceClientGone(res));
      const response = await definition.handler(request, context(definition.name));
      return send(res, response, method === 'HEAD');
    }
    if (allowed === undefined) return refuse(req, res, noRoute());
    return refuse(req, res, methodNotAllowed(method, [...allowed]));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  if (options.runTimers) {
    for (const definition of options.functions) {
      if (definition.trigger !== 'timer') continue;
      const expression = definition.schedule.replace(
        /%([^%]+)%/g,
        (_, name: string) => options.appSettings[name] ?? '',
      );
      const schedule = parseSchedule(expression);
      /** Waits for `at` in steps of at most MAX_TIMER_STEP_MS, then runs and arms the next occurrence. */
      const armAt = (at: Date): void => {
        if (stopped) return;
        const wait = Math.min(Math.max(at.getTime() - Date.now(), 0), MAX_TIMER_STEP_MS);
        const handle = setTimeout(() => {
          timers.delete(handle);
          // A step short of the run (or a timer a few ms early by the wall clock): wait for the rest.
          if (Date.now() < at.getTime()) return armAt(at);
          void runTimer(definition, false);
          armNext(at);
        }, wait);
        timers.add(handle);
      };
      // The occurrence after the one that ran (or after now, when the run came late): never the same one twice.
      const armNext = (after: Date): void => {
        const next = schedule.next(new Date(Math.max(Date.now(), after.getTime())));
        if (next) armAt(next);
      };
      armNext(new Date());
    }
  }

  const queues =
    options.queueTriggers === false
      ? undefined
      : startQueueTriggers({
          functions: options.functions,
          appSettings: options.appSettings,
          createContext: context,
          ...(options.onLog ? { onLog: options.onLog } : {}),
          ...options.queueTriggers,
        });

  return {
    url: `http://localhost:${port}`,
    port,
    runFunction: async (name) => {
      const definition = options.functions.find((f) => f.name === name);
      if (definition?.trigger !== 'timer') throw new Error(`No timer function named ${name}`);
      await runTimer(definition, false);
    },
    stop: async () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await queues?.stop();
      await Promise.allSettled(running.values());
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The trigger type the Functions host reports in an invocation's options, per kind of function-table row. */
const TRIGGER_TYPES: Record<FunctionDefinition['trigger'], string> = {
  http: 'httpTrigger',
  timer: 'timerTrigger',
  storageQueue: 'queueTrigger',
};

const EMPTY = Buffer.alloc(0);

/**
 * A maker of the signal that fires when the client closes the connection before the answer is written: the
 * AbortController and its listener exist only once a handler asks (one per request at most).
 */
function onceClientGone(res: http.ServerResponse): () => AbortSignal {
  let signal: AbortSignal | undefined;
  return () => {
    if (signal) return signal;
    const reason = (): Error => new Error('The client closed the connection.');
    // Gone already (the handler asked after an await): abort at once, as the listener would have.
    if (res.destroyed && !res.writableEnded) return (signal = AbortSignal.abort(reason()));
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableEnded) gone.abort(reason());
    });
    return (signal = gone.signal);
  };
}

/** Whether the request announces a body (RFC 9112 §6.3: Transfer-Encoding, or a non-zero Content-Length). */
function hasBody(req: http.IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

/** Reads the body; undefined when it is over the cap. */
function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Writes the response with a Content-Length (no chunked encoding): one socket write for a JSON answer. For HEAD
 * (`head`), the same status and headers, Content-Length included, without the body (RFC 9110 §9.3.2).
 */
function send(res: http.ServerResponse, response: HttpResponseInit, head = false): void {
  const headers: Record<string, string> = {};
  const given = response.headers;
  if (given instanceof Headers || Array.isArray(given)) {
    for (const [name, value] of new Headers(given)) headers[name] = value;
  } else if (given !== undefined) {
    for (const name in given) {
      const value = given[name];
      if (value !== undefined) headers[name.toLowerCase()] = String(value);
    }
  }
  // A string body goes out with the headers in one write (node prepends the header block to a string chunk).
  let body: string | Buffer | undefined;
  if (response.jsonBody !== undefined) {
    body = JSON.stringify(response.jsonBody);
    headers['content-type'] ??= 'application/json';
  } else if (typeof response.body === 'string') {
    body = response.body;
  } else if (response.body instanceof Uint8Array) {
    body = Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength);
  }
  const status = response.status ?? 200;
  if (body !== undefined && status !== 204 && status !== 304) {
    headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
    res.writeHead(status, headers);
    if (head) res.end();
    else res.end(body);
  } else {
    res.writeHead(status, headers);
    res.end();
  }
}
