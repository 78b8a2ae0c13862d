import { describe, expect, it } from 'vitest';
import { parseSchedule } from '../../shared/schedule';

const at = (iso: string): Date => new Date(iso);

describe('parseSchedule (NCRONTAB)', () => {
  it.each([
    ['0 */1 * * * *', '2026-01-01T10:00:30Z', '2026-01-01T10:01:00.000Z'],
    ['*/10 * * * * *', '2026-01-01T10:00:30Z', '2026-01-01T10:00:40.000Z'],
    ['0 30 9 * * 1-5', '2026-01-02T10:00:00Z', '2026-01-05T09:30:00.000Z'], // Friday after 9:30 → Monday
    ['0 0 0 1 JAN *', '2026-03-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['15,45 * * * * *', '2026-01-01T10:00:15Z', '2026-01-01T10:00:45.000Z'],
    ['0 0 0 13 * FRI', '2026-01-01T00:00:00Z', '2026-02-13T00:00:00.000Z'], // both day fields must match
    ['0 0 12 * * 7', '2026-01-01T00:00:00Z', '2026-01-04T12:00:00.000Z'], // 7 is Sunday
    ['0 0 0 1 1 *', '2026-11-29T20:00:00Z', '2027-01-01T00:00:00.000Z'], // more than 25 days away
  ])('%s after %s fires at %s', (expression, after, expected) => {
    // Act
    const next = parseSchedule(expression).next(at(after));

    // Assess
    expect(next?.toISOString()).toBe(expected);
  });

  it('has no next occurrence for a day that never comes (31 February)', () => {
    // Act
    const next = parseSchedule('0 0 0 31 2 *').next(at('2026-01-01T00:00:00Z'));

    // Assess
    expect(next).toBeUndefined();
  });

  it.each([
    ['* * * * *'],
    ['61 * * * * *'],
    ['*/0 * * * * *'],
    ['a b c d e f'],
    ['0 0 0 31 2-1 *'],
    ['0 0 0 L * *'],
    ['0 0 0 ? * MON'],
    ['0 0 0 * * MON#2'],
  ])('refuses %s', (expression) => {
    expect(() => parseSchedule(expression)).toThrow();
  });
});
