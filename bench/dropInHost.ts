/**
 * Benchmark worker for bench/dropIn.ts: the app as `npm start` runs it (dev/stack.ts: Azurite, the Key Vault and
 * identity stand-ins holding `input.key`, the local host with the timer on `POLL_SCHEDULE`), in its own process,
 * against the simulators named by `ALLOWED_UPSTREAM_HOSTS`. Ready: `{ url, port, secretName }`.
 * Commands: `cpu` → the process's CPU time (µs) so far.
 */
import { DEMO_SECRET_NAME, startLocalStack } from '../dev/stack';
import { serviceMain } from './common';

serviceMain(async (input: { key: string }) => {
  const stack = await startLocalStack({ env: process.env, port: 0, runTimers: true, upstreamKey: input.key });
  return {
    ready: { url: stack.host.url, port: stack.host.port, secretName: DEMO_SECRET_NAME },
    commands: {
      cpu: () => {
        const u = process.cpuUsage();
        return u.user + u.system;
      },
    },
    stop: () => stack.stop(),
  };
});
