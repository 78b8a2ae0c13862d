import net, { type AddressInfo, type LookupFunction } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookSender } from '../../shared/notifications/webhookSender';
import { notificationHarness } from '../support/notificationHarness';

/** A resolver seam: every name resolves to `address` (as a hostile or rebinding DNS answer would). */
function resolvesTo(address: string, calls: string[] = []): LookupFunction {
  return (hostname, options, callback) => {
    calls.push(hostname);
    const family = net.isIP(address);
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
        { address, family },
      ]);
    } else {
      callback(null, address, family);
    }
  };
}

let server: net.Server;
let port = 0;
let connections = 0;
beforeAll(async () => {
  // Anything listening on loopback: a connection to it would be counted here.
  server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('webhook deliveries to names that resolve to private addresses', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.7',
    '169.254.169.254',
    '192.168.0.10',
    '100.64.1.1',
    '::1',
    '::ffff:127.0.0.1',
    'fd00::1',
  ])('refuses a DNS name resolving to %s at connect time, with no connection made', async (address) => {
    // Prepare
    const before = connections;
    const calls: string[] = [];
    const send = createWebhookSender({
      timeoutMs: 2_000,
      allowedOrigins: [],
      resolve: resolvesTo(address, calls),
    });

    // Act
    const result = await send(`https://hooks.customer.example:${port}/hook`, { headers: {}, body: '{}' });

    // Assess
    expect(result).toMatchObject({ error: 'refusedAddress' });
    expect(calls).toEqual(['hooks.customer.example']);
    expect(connections).toBe(before);
  });

  it('checks the address on every connection, so a name rebound to loopback after registration is refused', async () => {
    // Prepare: a subscription whose name resolves to the loopback address where a receiver listens.
    const calls: string[] = [];
    const h = await notificationHarness({ resolve: resolvesTo('127.0.0.1', calls) });
    try {
      const rebound = `https://rebind.customer.example:${new URL(h.receiver.origin).port}/hook`;
      h.subscriptions.add({ id: 'sub-r', url: rebound });
      await h.register('g-1');

      // Act: the first attempt and its first two retries.
      await h.unit.services.poller.runCycle();
      for (let i = 0; i < 4; i++) await h.clock.sleep(60_000);

      // Assess: every attempt resolved the name again and was refused; the receiver saw nothing.
      expect(calls.length).toBeGreaterThanOrEqual(3);
      expect(h.receiver.received).toHaveLength(0);
      const [record] = [...h.deliveryLog.records.values()];
      expect(record?.status).toBe('pending');
      expect(record!.attempts).toBeGreaterThanOrEqual(3);
    } finally {
      await h.stop();
    }
  });

  it('refuses an IP-literal or plain-http webhook URL that is not an allowed origin, without connecting', async () => {
    // Prepare
    const before = connections;
    const send = createWebhookSender({ timeoutMs: 2_000, allowedOrigins: [] });

    // Act
    const results = await Promise.all(
      [
        `http://127.0.0.1:${port}/`,
        `https://127.0.0.1:${port}/`,
        `https://[::1]:${port}/`,
        `http://localhost:${port}/`,
      ].map((url) => send(url, { headers: {}, body: '{}' })),
    );

    // Assess
    for (const r of results) expect(r).toMatchObject({ error: 'refusedAddress' });
    expect(connections).toBe(before);
  });
});
