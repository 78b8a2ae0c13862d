import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { APP_ENVIRONMENT } from '../../shared/config';

export interface AppProcess {
  /** `http://127.0.0.1:PORT` */
  url: string;
  output(): string;
  stop(): Promise<void>;
  /** Ends the process at once with `signal` (SIGKILL: no handler runs, nothing is flushed) and waits for it. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * The compiled app as `npm start` runs it (`node dist/dev/start.js`), on a free port, with `settings` and extra
 * command-line `args` (e.g. `['--role', 'worker']`).
 */
export async function startAppProcess(
  settings: Record<string, string>,
  args: readonly string[] = [],
): Promise<AppProcess> {
  const { child, output } = spawnApp(settings, args);
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
  const end = (signal: NodeJS.Signals): Promise<void> =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.on('exit', () => resolve());
      child.kill(signal);
    });
  return { url, output, stop: () => end('SIGTERM'), kill: end };
}

/** Runs the app until it exits (a start refused by its settings): the exit code and what it printed. */
export async function runAppUntilExit(
  settings: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const { child, output } = spawnApp(settings);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output: output() };
}

function spawnApp(
  settings: Record<string, string>,
  args: readonly string[] = [],
): { child: ChildProcess; output: () => string } {
  // Every setting the app reads is cleared: absent ones get stand-ins, as under `npm start` on a clean machine.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !APP_ENVIRONMENT.includes(name)),
  );
  const root = path.resolve(__dirname, '../..');
  const child = spawn(process.execPath, [path.join(root, 'dist/dev/start.js'), '--port', '0', ...args], {
    cwd: root,
    env: { ...env, ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text };
}
