/**
 * Webhook URLs accepted at creation (docs/spec.md §12): https and a public DNS name, normalized; exact listed
 * origins (loopback http) for local receivers. The hostile ones are in test/security/webhookSubscriptions.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { checkWebhookUrl } from '../../shared/notifications/webhookUrl';

describe('checkWebhookUrl', () => {
  it.each([
    ['https://hooks.contoso.com/training', 'https://hooks.contoso.com/training'],
    ['https://hooks.contoso.com', 'https://hooks.contoso.com/'],
    ['HTTPS://Hooks.Contoso.COM/Path/To?x=1&y=%20z', 'https://hooks.contoso.com/Path/To?x=1&y=%20z'],
    ['https://hooks.contoso.com:443/a', 'https://hooks.contoso.com/a'],
    ['https://hooks.contoso.com:8443/a', 'https://hooks.contoso.com:8443/a'],
    ['https://xn--bcher-kva.example.com/hook', 'https://xn--bcher-kva.example.com/hook'],
    ['https://a-b.c-d.e2e.io/x', 'https://a-b.c-d.e2e.io/x'],
  ])('accepts %s as %s', (input, stored) => {
    // Act
    const check = checkWebhookUrl(input, []);

    // Assess
    expect(check).toMatchObject({ ok: true, url: stored, listedOrigin: false });
  });

  it('accepts a plain http loopback receiver only when its exact origin is listed', () => {
    // Prepare
    const listed = ['http://127.0.0.1:9000', 'http://localhost:9001'];

    // Act
    const exact = checkWebhookUrl('http://127.0.0.1:9000/hook', listed);
    const byName = checkWebhookUrl('http://localhost:9001/hook?a=1', listed);
    const otherPort = checkWebhookUrl('http://127.0.0.1:9002/hook', listed);
    const unlisted = checkWebhookUrl('http://127.0.0.1:9000/hook', []);

    // Assess
    expect(exact).toEqual({
      ok: true,
      url: 'http://127.0.0.1:9000/hook',
      origin: 'http://127.0.0.1:9000',
      listedOrigin: true,
    });
    expect(byName).toMatchObject({ ok: true, url: 'http://localhost:9001/hook?a=1' });
    expect(otherPort.ok).toBe(false);
    expect(unlisted.ok).toBe(false);
  });

  it('says why it refuses, without echoing user info', () => {
    // Act
    const ip = checkWebhookUrl('https://0x7f000001/hook', []);
    const internal = checkWebhookUrl('https://metadata.google.internal/', []);
    const userInfo = checkWebhookUrl('https://admin:s3cret-pw@hooks.contoso.com/', []);

    // Assess
    expect(ip).toEqual({ ok: false, message: expect.stringMatching(/not an IP address/) as string });
    expect(internal).toEqual({ ok: false, message: expect.stringMatching(/\.internal/) as string });
    expect(userInfo).toEqual({ ok: false, message: expect.stringMatching(/user info/) as string });
    expect(JSON.stringify(userInfo)).not.toContain('s3cret-pw');
  });
});
