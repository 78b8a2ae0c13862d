import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface AzuriteInstance {
  /** Connection string for the table, queue and blob endpoints. */
  connectionString: string;
  tableEndpoint: string;
  /** The queue endpoint (`http://127.0.0.1:PORT/devstoreaccount1`): the polls queue and its poison queue. */
  queueEndpoint: string;
  stop(): Promise<void>;
}

const ACCOUNT = 'devstoreaccount1';
// The well-known Azurite development key (public, documented; not a secret).
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * Starts Azurite in memory on free ports (the bin directly, not through npx, so stopping it leaves no orphan).
 */
export async function startAzurite(options: { timeoutMs?: number } = {}): Promise<AzuriteInstance> {
  const bin = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'azurite.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      bin,
      '--inMemoryPersistence',
      '--silent',
      '--loose',
      '--skipApiVersionCheck',
      '--disableTelemetry',
      '--blobPort',
      '0',
      '--queuePort',
      '0',
      '--tablePort',
      '0',
      '--blobHost',
      '127.0.0.1',
      '--queueHost',
      '127.0.0.1',
      '--tableHost',
      '127.0.0.1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ports: Record<string, string> = {};
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Azurite did not start in time. Output:\n${output}`)),
      options.timeoutMs ?? 30_000,
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      for (const m of output.matchAll(
        /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/g,
      )) {
        ports[m[1]!.toLowerCase()] = m[2]!;
      }
      if (ports.blob && ports.queue && ports.table) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${String(code)}. Output:\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  const host = 'http://127.0.0.1';
  const tableEndpoint = `${host}:${ports.table}/${ACCOUNT}`;
  const queueEndpoint = `${host}:${ports.queue}/${ACCOUNT}`;
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};` +
    `BlobEndpoint=${host}:${ports.blob}/${ACCOUNT};QueueEndpoint=${queueEndpoint};` +
    `TableEndpoint=${tableEndpoint};`;
  return {
    connectionString,
    tableEndpoint,
    queueEndpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
