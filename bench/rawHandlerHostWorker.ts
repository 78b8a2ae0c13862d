/**
 * Benchmark worker: the local host (dev/host.ts) serving one route, `jobs/{id}/status`, whose handler is the raw
 * read of benchmark 1's bare server (the status columns, the entity as JSON) and nothing of the app: what the local
 * host's own layer (routing, request and context objects, writing) costs per status read. With `cachingHeaders`,
 * the answer also carries the three caching headers the status route sends (ETag, Cache-Control, Last-Modified),
 * taken from the row as it is.
 * Commands: `cpu` → the process's CPU time (µs) so far.
 */
import { startLocalHost } from '../dev/host';
import { createTableClientFactory } from '../shared/store/tableJobStore';
import { serviceMain } from './common';
import { readStatusRow } from './rawStatusRead';

serviceMain(async (input: { connectionString: string; cachingHeaders?: boolean }) => {
  const client = createTableClientFactory({ connectionString: input.connectionString })('jobs');
  const host = await startLocalHost({
    appSettings: {},
    queueTriggers: false,
    functions: [
      {
        name: 'rawStatus',
        trigger: 'http',
        route: 'jobs/{id}/status',
        methods: ['GET'],
        authLevel: 'anonymous',
        handler: async (request) => {
          const id = request.params.id ?? '';
          const entity = await readStatusRow(client, id);
          const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
          if (input.cachingHeaders === true) {
            headers['etag'] = entity.etag;
            headers['cache-control'] = 'max-age=60';
            headers['last-modified'] = new Date(String(entity['checkedAt'])).toUTCString();
          }
          return { headers, jsonBody: entity };
        },
      },
    ],
  });
  return {
    ready: { port: host.port },
    commands: {
      cpu: () => {
        const u = process.cpuUsage();
        return u.user + u.system;
      },
    },
    stop: () => host.stop(),
  };
});
