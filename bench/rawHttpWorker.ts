/**
 * Benchmark worker: the physical limit of serving a status over HTTP on this stack — a bare node:http server in
 * its own process that does one raw `TableClient.getEntity` per request (the status columns, as the service reads
 * them) and writes the entity as JSON. No routing table, no Functions request object, no parsing or validation.
 * Commands: `cpu` → the process's CPU time (µs) so far.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTableClientFactory } from '../shared/store/tableJobStore';
import { serviceMain } from './common';
import { readStatusRow } from './rawStatusRead';

serviceMain(async (input: { connectionString: string }) => {
  const client = createTableClientFactory({ connectionString: input.connectionString })('jobs');
  const server = http.createServer((req, res) => {
    const id = /^\/raw\/([0-9a-f]{32})$/.exec(req.url ?? '')?.[1];
    if (id === undefined) {
      res.writeHead(404, { 'content-length': '0' });
      res.end();
      return;
    }
    readStatusRow(client, id).then(
      (entity) => {
        const body = JSON.stringify(entity);
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': String(Buffer.byteLength(body)),
        });
        res.end(body);
      },
      () => {
        res.writeHead(500, { 'content-length': '0' });
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    ready: { port: (server.address() as AddressInfo).port },
    commands: {
      cpu: () => {
        const u = process.cpuUsage();
        return u.user + u.system;
      },
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
});
