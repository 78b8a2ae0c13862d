/**
 * Benchmark 9's processes: the compiled local host (`node dist/dev/start.js --role timer|worker`), each a real
 * child process with its own app settings, whose log lines are kept for the figures. Nothing here is product code.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { HostRole } from '../dev/roles';
import { cleanEnv } from './common';

export interface HostProcess {
  role: HostRole;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Every line the process printed so far. */
  lines(): string[];
  /** SIGTERM: the host finishes its running cycle and handlers (their lines are printed), then exits. */
  stop(): Promise<void>;
}

/** One function's structured log line (`<function> <level>: <message> {json}`), as the local host prints it. */
export interface FunctionLine {
  functionName: string;
  message: string;
  properties: Record<string, unknown>;
}

const LINE = /^\[[^\]]+\] (\S+) (\w+): (.+?) (\{.*\})$/;

/** The structured lines of `lines` whose message is `message`. */
export function functionLines(lines: readonly string[], message: string): FunctionLine[] {
  const out: FunctionLine[] = [];
  for (const line of lines) {
    const m = LINE.exec(line);
    if (!m || m[3] !== message) continue;
    try {
      out.push({
        functionName: m[1]!,
        message: m[3],
        properties: JSON.parse(m[4]!) as Record<string, unknown>,
      });
    } catch {
      // A line cut by the process's end: not a figure.
    }
  }
  return out;
}

export async function startHostProcess(
  role: HostRole,
  settings: Record<string, string>,
  startTimeoutMs = 120_000,
): Promise<HostProcess> {
  const entry = path.join(__dirname, '..', 'dev', 'start.js');
  const child = spawn(process.execPath, [entry, '--port', '0', '--role', role], {
    env: { ...cleanEnv(), ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const take = (chunk: Buffer): void => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${role} host did not start:\n${lines.join('\n')}`));
    }, startTimeoutMs);
    const check = (): void => {
      const m = /listening on (http:\/\/\S+)/.exec(lines.join('\n'));
      if (!m) return;
      clearTimeout(timer);
      resolve(m[1]!.replace('localhost', '127.0.0.1'));
    };
    child.stdout.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the ${role} host exited:\n${lines.join('\n')}${partial}`));
    });
  });
  return {
    role,
    url,
    lines: () => lines,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      if (partial) lines.push(partial);
      partial = '';
    },
  };
}
