/**
 * Benchmark worker: the local Functions host (dev/host.ts) serving the function table, in its own process like
 * the real host, with the settings it is given (no stand-in is started: every setting is present). It serves HTTP
 * only, as the Node worker does on Azure: there the queue listener and the timers run in the Functions host
 * process, not in the worker (here a queue poll every second would land in the measured rounds).
 * Commands: `cpu` → the process's CPU time (µs) so far.
 */
import { serviceMain } from './common';
import { startLocalStack } from '../dev/stack';

serviceMain(async () => {
  const stack = await startLocalStack({ env: process.env, port: 0, queueTriggers: false });
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
