/**
 * Benchmark H (run only when named: `--only H`) — where the server CPU of a status read over HTTP goes. Three
 * servers, each in its own process, read the same rows on one Azurite with the same read (the status columns):
 *   bare      benchmark 1's bare node:http server
 *   host      the local host serving one route whose handler is that raw read (the host's own layer)
 *   headers   the same, its answer carrying the status route's three caching headers too
 *   app       the app's getJobStatus through the local host (what benchmark 1 measures)
 * Each serves a fixed number of requests at concurrency 16 in turn, in alternating order, several times; the
 * figures are the median CPU time per request of each server, as ratios to the bare server's. No targets: this
 * says which layer to work on when benchmark 1's HTTP ratios miss.
 */
import http from 'node:http';
import { figure, median, startService, type BenchOptions, type Figure, type Service } from './common';
import { startPolledJobs } from './fixtures';
import { httpGet } from './load';

const BENCH = 'H read path split';
const KEY = 'bench-split-key';
const CONCURRENCY = 16;

export async function benchReadPathSplit(options: BenchOptions): Promise<Figure[]> {
  const { quick, log } = options;
  const perRound = quick ? 1_500 : 3_000;
  const rounds = quick ? 5 : 9;
  const { azurite, jobs, appSettings, stop } = await startPolledJobs(200, KEY);
  const stops: (() => Promise<void>)[] = [stop];
  try {
    const input = { connectionString: azurite.connectionString };
    const names = ['bare', 'host', 'headers', 'app'] as const;
    const started: Record<(typeof names)[number], { service: Service; path: (id: string) => string }> = {
      bare: { service: await startService('rawHttpWorker', {}, input), path: (id) => `/raw/${id}` },
      host: {
        service: await startService('rawHandlerHostWorker', {}, input),
        path: (id) => `/api/jobs/${id}/status`,
      },
      headers: {
        service: await startService('rawHandlerHostWorker', {}, { ...input, cachingHeaders: true }),
        path: (id) => `/api/jobs/${id}/status`,
      },
      app: {
        service: await startService('hostWorker', appSettings, {}),
        path: (id) => `/api/jobs/${id}/status`,
      },
    };
    for (const { service } of Object.values(started)) stops.unshift(() => service.stop());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    stops.unshift(() => Promise.resolve(agent.destroy()));

    const ids = jobs.map((j) => j.id);
    const serve = async (server: (typeof started)['bare'], count: number): Promise<void> => {
      const port = Number(server.service.ready.port);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const path = server.path(ids[next++ % ids.length]!);
          const status = await httpGet(agent, port, path, {});
          if (status !== 200) throw new Error(`${path} answered ${status}`);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    };
    const cpu: Record<(typeof names)[number], number[]> = { bare: [], host: [], headers: [], app: [] };
    // Steady state first (as in benchmark 1): a process's first few thousand reads cost several times the later ones.
    for (const name of names) await serve(started[name], quick ? 3_000 : 6_000);
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        const server = started[name];
        const before = await server.service.request<number>('cpu');
        await serve(server, perRound);
        cpu[name].push(((await server.service.request<number>('cpu')) - before) / perRound);
      }
    }
    log(`  ${rounds} rounds of ${perRound} requests per server`);
    const bare = median(cpu.bare);
    const spread = (values: number[]): string =>
      `per-round ${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)} µs over ${values.length} rounds`;
    return [
      figure({
        benchmark: BENCH,
        name: `c=${CONCURRENCY} bare server CPU/read (info)`,
        measured: bare,
        unit: 'µs',
        note: spread(cpu.bare),
      }),
      figure({
        benchmark: BENCH,
        name: `c=${CONCURRENCY} local host, raw-read handler (info)`,
        measured: median(cpu.host),
        unit: 'µs',
        baseline: { value: bare, label: 'bare server' },
        note: spread(cpu.host),
      }),
      figure({
        benchmark: BENCH,
        name: `c=${CONCURRENCY} local host, raw-read handler + caching headers (info)`,
        measured: median(cpu.headers),
        unit: 'µs',
        baseline: { value: bare, label: 'bare server' },
        note: spread(cpu.headers),
      }),
      figure({
        benchmark: BENCH,
        name: `c=${CONCURRENCY} local host, the app (info)`,
        measured: median(cpu.app),
        unit: 'µs',
        baseline: { value: bare, label: 'bare server' },
        note: spread(cpu.app),
      }),
    ];
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
  }
}
