import { describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../shared/notifications/addressCheck';
import { retryDelayMs, RETRY_DELAYS_MS } from '../../shared/notifications/retrySchedule';

describe('the webhook address check', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '100.127.255.255',
    '169.254.169.254',
    '169.254.1.1',
    '0.0.0.0',
    '0.1.2.3',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '198.18.0.1',
    '::1',
    '::',
    'fc00::1',
    'fd12:3456:789a::1',
    'fe80::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '0:0:0:0:0:ffff:c0a8:0101',
    '::ffff:0:127.0.0.1',
    '::127.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::',
    'not-an-address',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '20.42.65.92', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'allows the public address %s',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('the webhook retry schedule', () => {
  it('waits 5 s, 30 s, 2 min, 10 min, 30 min, 2 h, 6 h, 12 h, then gives up', () => {
    // Act
    const middle = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => retryDelayMs(n, () => 0.5));

    // Assess
    expect(middle).toEqual([...RETRY_DELAYS_MS, undefined]);
  });

  it('moves each wait by at most 10 %', () => {
    expect(retryDelayMs(1, () => 0)).toBe(4_500);
    expect(retryDelayMs(8, () => 0.999_999)).toBeCloseTo(43_200_000 * 1.1, -2);
  });

  it('honours a longer Retry-After up to an hour, never a shorter one', () => {
    expect(retryDelayMs(1, () => 0.5, 120_000)).toBe(120_000);
    expect(retryDelayMs(1, () => 0.5, 86_400_000)).toBe(3_600_000);
    expect(retryDelayMs(3, () => 0.5, 1_000)).toBe(120_000);
  });
});
