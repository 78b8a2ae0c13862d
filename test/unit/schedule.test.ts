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
  ])('%s after %s fires at %s', (expression, after, expected) => {
    // Act
    const next = parseSchedule(expression).next(at(after));

    // Assess
    expect(next?.toISOString()).toBe(expected);
  });

  it.each([['* * * * *'], ['61 * * * * *'], ['*/0 * * * * *'], ['a b c d e f'], ['0 0 0 31 2-1 *']])(
    'refuses %s',
    (expression) => {
      expect(() => parseSchedule(expression)).toThrow();
    },
  );
});
