import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** Settings the app reads, removed from the environment a child app inherits (absent ones get stand-ins). */
const APP_SETTINGS =
  /^(AzureWebJobsStorage|STATUS_STORAGE|KEY_VAULT_URL|ALLOWED_UPSTREAM_HOSTS|UPSTREAM_RATE_LIMITS|POLL_SCHEDULE|AZURE_CLIENT_ID|IDENTITY_|MSI_|APPLICATIONINSIGHTS_|OTEL_|PORT$)/;

export interface AppProcess {
  /** `http://127.0.0.1:PORT` */
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** The compiled app as `npm start` runs it (`node dist/dev/start.js`), on a free port, with `settings`. */
export async function startAppProcess(settings: Record<string, string>): Promise<AppProcess> {
  const { child, output } = spawnApp(settings);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start:\n${output()}`)), 60_000);
    const check = (): void => {
      const m = /listening on (http:\/\/\S+)/.exec(output());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!.replace('localhost', '127.0.0.1'));
      }
    };
    child.stdout?.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the app exited (${code}):\n${output()}`));
    });
  });
  return {
    url,
    output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Runs the app until it exits (a start refused by its settings): the exit code and what it printed. */
export async function runAppUntilExit(
  settings: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const { child, output } = spawnApp(settings);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output: output() };
}

function spawnApp(settings: Record<string, string>): { child: ChildProcess; output: () => string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !APP_SETTINGS.test(name)));
  const root = path.resolve(__dirname, '../..');
  const child = spawn(process.execPath, [path.join(root, 'dist/dev/start.js'), '--port', '0'], {
    cwd: root,
    env: { ...env, ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text };
}
