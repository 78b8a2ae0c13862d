/**
 * The drop-in key guards (docs/spec.md §13): keys compared through fixed-size digests, failed attempts limited per
 * client address in a sliding window (on the virtual clock), and the client address read from the entry of
 * X-Forwarded-For the front end appended.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../dev/virtualClock';
import { AttemptLimiter, clientAddress, keysMatch } from '../../shared/dropIn/keyGuard';

describe('keysMatch', () => {
  it.each([
    ['the same key', 'k3y-0123456789abcdef', 'k3y-0123456789abcdef', true],
    ['another key of the same length', 'k3y-0123456789abcdef', 'k3y-0123456789abcdeF', false],
    ['a prefix of the key', 'k3y-0123', 'k3y-0123456789abcdef', false],
    ['the key with more after it', 'k3y-0123456789abcdef0', 'k3y-0123456789abcdef', false],
    ['an empty key', '', 'k3y-0123456789abcdef', false],
    ['a very long guess', 'x'.repeat(100_000), 'k3y-0123456789abcdef', false],
  ])('compares %s', (_name, presented, expected, match) => {
    // Act
    const result = keysMatch(presented, expected);

    // Assess
    expect(result).toBe(match);
  });
});

describe('AttemptLimiter', () => {
  it('refuses a client after 10 failures in a minute, until the oldest leaves the window', async () => {
    // Prepare
    const clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
    const limiter = new AttemptLimiter(clock);

    // Act
    const before: (number | undefined)[] = [];
    for (let i = 0; i < 10; i++) {
      before.push(limiter.retryAfterSeconds('203.0.113.7'));
      limiter.fail('203.0.113.7');
      await clock.sleep(1_000);
    }
    const blocked = limiter.retryAfterSeconds('203.0.113.7');
    const other = limiter.retryAfterSeconds('203.0.113.8');
    await clock.sleep(50_000); // 60 s after the first failure
    const afterWindow = limiter.retryAfterSeconds('203.0.113.7');

    // Assess
    expect(before.every((w) => w === undefined)).toBe(true);
    expect(blocked).toBe(50); // the first failure (t=0) leaves the window at t=60; now is t=10
    expect(other).toBeUndefined();
    expect(afterWindow).toBeUndefined();
  });

  it('keeps refusing a client that goes on failing while refused', async () => {
    // Prepare
    const clock = new VirtualClock(0);
    const limiter = new AttemptLimiter(clock, { maxFailures: 3, windowMs: 10_000 });
    for (let i = 0; i < 3; i++) limiter.fail('a');

    // Act
    await clock.sleep(9_000);
    limiter.fail('a');
    const stillBlocked = limiter.retryAfterSeconds('a');
    await clock.sleep(1_000);
    const afterFirstLeft = limiter.retryAfterSeconds('a');

    // Assess: at t=10 the three first failures left the window, the one at t=9 is the only one left
    expect(stillBlocked).toBe(1);
    expect(afterFirstLeft).toBeUndefined();
  });

  it('remembers at most maxClients addresses, forgetting the oldest', () => {
    // Prepare
    const clock = new VirtualClock(0);
    const limiter = new AttemptLimiter(clock, { maxFailures: 1, maxClients: 2 });

    // Act
    limiter.fail('a');
    limiter.fail('b');
    limiter.fail('c');

    // Assess
    expect(['a', 'b', 'c'].map((c) => limiter.retryAfterSeconds(c) !== undefined)).toEqual([
      false,
      true,
      true,
    ]);
  });
});

describe('clientAddress', () => {
  it.each([
    ['no header', null, 'unknown'],
    ['one address with its port (App Service)', '203.0.113.7:51234', '203.0.113.7'],
    ['a forged entry before the front end one', '198.51.100.1, 203.0.113.7:51234', '203.0.113.7'],
    ['an IPv6 address in brackets with a port', '[2001:db8::1]:443', '2001:db8::1'],
    ['an IPv4-mapped address (local host)', '::ffff:127.0.0.1', '127.0.0.1'],
    ['empty entries', ' , ', 'unknown'],
  ])('reads %s', (_name, header, expected) => {
    // Act
    const address = clientAddress(header);

    // Assess
    expect(address).toBe(expected);
  });
});
