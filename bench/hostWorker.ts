/**
 * Benchmark worker: the local Functions host (dev/host.ts) serving the function table, in its own process like
 * the real host, with the settings it is given (no stand-in is started: every setting is present).
 * Commands: `cpu` → the process's CPU time (µs) so far.
 */
import { serviceMain } from './common';
import { startLocalStack } from '../dev/stack';

serviceMain(async () => {
  const stack = await startLocalStack({ env: process.env, port: 0 });
  return {
    ready: { url: stack.host.url, port: stack.host.port },
    commands: {
      cpu: () => {
        const u = process.cpuUsage();
        return u.user + u.system;
      },
    },
    stop: () => stack.stop(),
  };
});
