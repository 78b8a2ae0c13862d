/**
 * The README's walk-through, run as a user pastes it: its bash block, command by command, in one bash session with
 * curl and jq, against the app started as `npm start` starts it (dev/stack.ts, demo jobs registered). A counting
 * proxy in front of the local host records each request's status, so each command is held to the status its
 * trailing comment states (`# 304`); a command without one must get 200 on every request it makes.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../dev/stack';
import { startTrafficProxy, type TrafficProxy } from '../../dev/trafficProxy';
import { SETTINGS } from '../../shared/config';

const README_PORT = 'localhost:7071';

interface Step {
  /** The command as written in the README (continuation lines joined), with the port of this run. */
  command: string;
  /** The status its trailing comment states for its last request, when it states one. */
  expected?: number;
}

/** The commands of the README's walk-through block; comment lines and blank lines are not commands. */
function walkThroughSteps(readme: string, origin: string): Step[] {
  const section = readme.slice(readme.indexOf('\n## Walk-through'));
  const block = /```bash\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (block === undefined) throw new Error('README: no bash block under "## Walk-through"');
  const steps: Step[] = [];
  let pending = '';
  for (const line of block.split('\n')) {
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    pending += `${line}\n`;
    if (line.endsWith('\\')) continue;
    const status = /\s#\s+(\d{3})\b[^'"]*$/.exec(line)?.[1];
    steps.push({
      command: pending.replaceAll(README_PORT, origin).trimEnd(),
      ...(status ? { expected: Number(status) } : {}),
    });
    pending = '';
  }
  return steps;
}

/** One bash session, fed command by command as a terminal would be; variables carry from one to the next. */
function startShell(): { run(command: string): Promise<{ exitCode: number; output: string }>; stop(): void } {
  const shell: ChildProcessWithoutNullStreams = spawn('bash', ['--noprofile', '--norc'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LC_ALL: 'C.UTF-8' },
  });
  let buffer = '';
  let waiting: ((text: string) => void) | undefined;
  const onData = (chunk: Buffer): void => {
    buffer += chunk.toString('utf8');
    if (waiting && /::step-done \d+\n/.test(buffer)) waiting(buffer);
  };
  shell.stdout.on('data', onData);
  shell.stderr.on('data', onData);
  shell.stdin.write('set -o pipefail\n');
  return {
    run: (command) =>
      new Promise((resolve) => {
        buffer = '';
        waiting = (text) => {
          waiting = undefined;
          const [, output = '', code = '1'] = /^([\s\S]*?)\n?::step-done (\d+)\n/.exec(text) ?? [];
          resolve({ exitCode: Number(code), output });
        };
        // stdin from /dev/null: a command never eats the lines that follow it.
        shell.stdin.write(`{\n${command}\n} </dev/null\nprintf '\\n::step-done %d\\n' $?\n`);
      }),
    stop: () => {
      shell.stdin.end();
      shell.kill();
    },
  };
}

/** A command whose jq output goes to the terminal (not into a variable): it must print something. */
const isPrintedJq = (command: string): boolean => /\|\s*jq\b/.test(command) && !/^\w+=\$\(/.test(command);

const missingTools = ['bash', 'curl', 'jq'].filter((tool) => spawnSync('which', [tool]).status !== 0);

describe('the README walk-through', () => {
  let stack: LocalStack;
  let proxy: TrafficProxy;

  beforeAll(async () => {
    for (const name of [...Object.keys(SETTINGS), 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT'])
      delete process.env[name];
    stack = await startLocalStack({ env: process.env, port: 0, registerDemoJobs: true });
    proxy = await startTrafficProxy(stack.host.url);
  });

  afterAll(async () => {
    await proxy?.stop();
    await stack?.stop();
  });

  it('answers every command with the status the README states, pasted into bash with curl and jq', async () => {
    // Prepare
    expect(missingTools, 'the walk-through needs these on PATH (.ci/run installs jq)').toEqual([]);
    const origin = `localhost:${new URL(proxy.origin).port}`;
    const steps = walkThroughSteps(readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8'), origin);
    const shell = startShell();

    // Act
    const results = [];
    try {
      for (const step of steps) {
        proxy.resetCount();
        const { exitCode, output } = await shell.run(step.command);
        results.push({ step, exitCode, output, statuses: proxy.requests.map((r) => r.status) });
      }
    } finally {
      shell.stop();
    }

    // Assess: the block is the walk-through (its steps reach the statuses the README promises) ...
    expect(steps.length).toBeGreaterThanOrEqual(10);
    expect(steps.map((s) => s.command).join('\n')).not.toContain('7071');
    expect(steps.map((s) => s.expected).filter(Boolean)).toEqual(
      expect.arrayContaining([200, 202, 204, 304, 400]),
    );
    // ... and each command ran, made its requests, and got what the README says.
    const failures = results.flatMap(({ step, exitCode, output, statuses }) => {
      const expected = [...statuses.slice(0, -1).map(() => 200), step.expected ?? 200];
      const problems = [
        ...(exitCode !== 0 ? [`exit code ${exitCode}`] : []),
        ...(statuses.length === 0 ? ['made no request'] : []),
        ...(statuses.length > 0 && statuses.join() !== expected.join()
          ? [`answered ${statuses.join(', ')}, README says ${expected.join(', ')}`]
          : []),
        ...(isPrintedJq(step.command) && output.trim() === '' ? ['printed nothing'] : []),
      ];
      return problems.length ? [`${step.command}\n  → ${problems.join('; ')}\n  output: ${output}`] : [];
    });
    expect(failures).toEqual([]);
  }, 120_000);
});
