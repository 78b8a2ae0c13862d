/**
 * `npm start`: the app on http://localhost:7071 with the same routes as under the Functions host, and an
 * embedded stand-in for every absent setting (see dev/stack.ts). Stop with Ctrl+C.
 */
import { ConfigError } from '../shared/errors';
import { hostSwitchesFor, queueLeaseFromArgs, roleFromArgs } from './roles';
import { startLocalStack } from './stack';

function portFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  const i = argv.indexOf('--port');
  const inline = argv.find((a) => a.startsWith('--port='))?.slice('--port='.length);
  const value = inline ?? (i >= 0 ? argv[i + 1] : undefined) ?? env.PORT ?? '7071';
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError([`--port / PORT: '${value}' is not a port number`]);
  }
  return port;
}

async function main(): Promise<void> {
  const port = portFromArgs(process.argv.slice(2), process.env);
  const role = roleFromArgs(process.argv.slice(2));
  const queueLeaseMs = queueLeaseFromArgs(process.argv.slice(2));
  const stack = await startLocalStack({
    env: process.env,
    port,
    ...hostSwitchesFor(role),
    ...(queueLeaseMs ? { queueLeaseMs } : {}),
    registerDemoJobs: true,
    onLog: (entry) =>
      console.log(`[${new Date().toISOString()}] ${entry.functionName} ${entry.level}: ${entry.message}`),
  });
  const started = [
    stack.azurite && `Azurite (in memory)      ${stack.azurite.tableEndpoint}`,
    stack.azurite && `  queues (polls)         ${stack.azurite.queueEndpoint}`,
    stack.vault && `Key Vault stand-in       ${stack.vault.url}`,
    stack.identity && `identity endpoint        ${stack.identity.endpoint}`,
    stack.simulator && `upstream simulator       ${stack.simulator.origin}`,
  ].filter(Boolean);
  console.log(
    [
      '',
      `Training-status cache listening on ${stack.host.url}`,
      '',
      started.length ? 'Stand-ins started for absent settings:' : 'All settings given: no stand-in started.',
      ...started.map((line) => `  ${String(line)}`),
      '',
      `Poll schedule: ${stack.settings.POLL_SCHEDULE ?? ''}`,
      ...(role === 'all' ? [] : [`Role: ${role} (${role === 'timer' ? 'no queue trigger' : 'no timer'})`]),
      stack.demoJobIds.length ? `Demo jobs registered: ${stack.demoJobIds.length}. Try:` : 'Try:',
      `  curl -s ${stack.host.url}/api/jobs`,
      ...(stack.demoJobIds[0] ? [`  curl -s ${stack.host.url}/api/jobs/${stack.demoJobIds[0]}/status`] : []),
      `  curl -s ${stack.host.url}/api/health`,
      `  curl -s -X POST ${stack.host.url}/admin/functions/pollJobs -H 'content-type: application/json' -d '{"input":""}'`,
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
