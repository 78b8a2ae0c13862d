/**
 * Benchmark worker: benchmark 1's in-process variants, in a process of their own started with the same V8 flags as
 * the HTTP servers, which runs their load itself (the calls are in process; only each round's figures cross IPC):
 *   raw         TableClient.getEntity of the job row's status columns, the read the service makes
 *   handler     the getJobStatus function handler, called as the Functions host calls it (a new InvocationContext
 *               per call)
 *   handler304  the same with If-None-Match of the job's current ETag
 * The app settings come as the environment. Ready: `etags`, each job's status ETag (the HTTP 304 variant uses them).
 * Commands: `load` → one round of one variant (`runLoad`; the latencies as a plain array).
 */
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { loadFunctionTable } from '../dev/stack';
import { createTableClientFactory } from '../shared/store/tableJobStore';
import { serviceMain } from './common';
import { runLoad, type LoadResult } from './load';
import { readStatusRow } from './rawStatusRead';

export type InProcessVariant = 'raw' | 'handler' | 'handler304';

/** A `load` command: one round of `variant` (runLoad's options, without `measure`). */
export interface InProcessRound {
  variant: InProcessVariant;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  minSamples?: number;
  maxMs?: number;
}

/** A LoadResult as it crosses IPC (a typed array would arrive as an object of indexes). */
export type WireLoadResult = Omit<LoadResult, 'latencies'> & { latencies: number[] };

serviceMain(async (input: { connectionString: string; ids: string[] }) => {
  const table = await loadFunctionTable();
  const statusFunction = table.find((f) => f.name === 'getJobStatus');
  if (statusFunction?.trigger !== 'http') throw new Error('getJobStatus is not in the function table');
  const handler = statusFunction.handler;

  const { ids } = input;
  const n = ids.length;
  const request = (id: string, headers: Record<string, string> = {}): HttpRequest =>
    new HttpRequest({
      method: 'GET',
      url: `http://localhost/api/jobs/${id}/status`,
      headers,
      params: { id },
    });
  const call = async (req: HttpRequest): Promise<HttpResponseInit> =>
    await handler(req, new InvocationContext({ functionName: 'getJobStatus', invocationId: 'bench' }));
  const plain = ids.map((id) => request(id));
  const etags: string[] = [];
  for (const [i, id] of ids.entries()) {
    const r = await call(plain[i]!);
    const etag = new Headers(r.headers).get('etag');
    if ((r.status ?? 200) !== 200 || etag === null) throw new Error(`status of ${id}: ${r.status}`);
    etags.push(etag);
  }
  const conditional = ids.map((id, i) => request(id, { 'if-none-match': etags[i]! }));
  const raw = createTableClientFactory({ connectionString: input.connectionString })('jobs');
  const expect = (want: number) => (r: HttpResponseInit) => {
    if ((r.status ?? 200) !== want) throw new Error(`answered ${String(r.status)}, expected ${want}`);
  };
  const ops: Record<InProcessVariant, (i: number) => Promise<unknown>> = {
    raw: (i) => readStatusRow(raw, ids[i % n]!),
    handler: (i) => call(plain[i % n]!).then(expect(200)),
    handler304: (i) => call(conditional[i % n]!).then(expect(304)),
  };

  return {
    ready: { etags },
    commands: {
      load: async (argument): Promise<WireLoadResult> => {
        const { variant, ...options } = argument as InProcessRound;
        const result = await runLoad(ops[variant], options);
        return { ...result, latencies: Array.from(result.latencies) };
      },
    },
    stop: () => Promise.resolve(),
  };
});
