/**
 * Benchmark 4 — start-up (the peak-memory figure of benchmark 4 comes from the 10,000-job cycle of benchmark 2).
 *
 * Cold-start proxy: the time to import the compiled function entry (package.json `main`) in a fresh node, as the
 * Functions worker does when it loads the app, measured inside the child around `require`. Beside it, the floor
 * every Node function app pays: importing @azure/functions alone.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { cleanEnv, figure, median, type BenchOptions, type Figure } from './common';

const BENCH = '4 start-up and memory';

export function benchStartup(options: BenchOptions): Promise<Figure[]> {
  const runs = options.quick ? 7 : 21;
  const root = path.join(__dirname, '..', '..');
  const entry = path.join(root, 'dist', 'functions', 'index.js');
  const env = {
    ...cleanEnv(),
    // Valid settings (nothing is contacted at import).
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    KEY_VAULT_URL: 'https://bench-startup.vault.azure.net',
  };
  const timeImport = (target: string): number => {
    const script =
      `const t0 = process.hrtime.bigint(); require(${JSON.stringify(target)}); ` +
      `process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6));`;
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return Number(out.toString());
  };
  // One run each first, so the file system cache is warm for both (a cold disk is not what is measured).
  timeImport(entry);
  timeImport('@azure/functions');
  const app: number[] = [];
  const floor: number[] = [];
  const loaded = new Set<string>();
  for (let i = 0; i < runs; i++) {
    app.push(timeImport(entry));
    floor.push(timeImport('@azure/functions'));
  }
  // Which heavy SDKs the entry loads at import (they should load on first use).
  const probe =
    `require(${JSON.stringify(entry)}); ` +
    `const heavy = ['@azure/data-tables', '@azure/identity', '@azure/keyvault-secrets', '@opentelemetry/api', '@opentelemetry/sdk-metrics', '@azure/monitor-opentelemetry-exporter']; ` +
    `process.stdout.write(JSON.stringify(heavy.filter((m) => Object.keys(require.cache).some((k) => k.includes('/node_modules/' + m + '/')))));`;
  for (const m of JSON.parse(
    execFileSync(process.execPath, ['-e', probe], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString(),
  ) as string[])
    loaded.add(m);
  options.log(`    import: ${app.map((t) => t.toFixed(0)).join(' ')} ms`);
  return Promise.resolve([
    figure({
      benchmark: BENCH,
      name: 'import of the function entry (median, fresh node)',
      measured: median(app),
      unit: 'ms',
      baseline: { value: median(floor), label: '@azure/functions alone' },
      target: { on: 'value', op: '<=', limit: 300 },
      note: `${runs} runs, min ${Math.min(...app).toFixed(0)} / max ${Math.max(...app).toFixed(0)} ms; heavy SDKs loaded at import: ${loaded.size ? [...loaded].join(', ') : 'none'}`,
    }),
  ]);
}
