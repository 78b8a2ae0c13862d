/**
 * NCRONTAB (six fields: second minute hour day month day-of-week), as the Functions timer trigger reads it.
 * Used to validate `POLL_SCHEDULE` at start and by the local host to fire the timer.
 */
export interface Schedule {
  /** The first occurrence strictly after `after` (UTC), or undefined when none within 5 years. */
  next(after: Date): Date | undefined;
}

const FIELDS = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { name: 'day-of-week', min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
] as const;

/** Parses an NCRONTAB expression; throws an Error naming the faulty field. */
export function parseSchedule(expression: string): Schedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new Error(`expected six fields (second minute hour day month day-of-week), got ${parts.length}`);
  }
  const sets = parts.map((part, i) => parseField(part, FIELDS[i]!));
  const [seconds, minutes, hours, days, months, weekdays] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  const sortedSeconds = [...seconds].sort((a, b) => a - b);
  const sortedMinutes = [...minutes].sort((a, b) => a - b);
  const sortedHours = [...hours].sort((a, b) => a - b);
  return {
    next(after: Date): Date | undefined {
      const start = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
      const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
      for (let d = 0; d < 366 * 5; d++, day.setUTCDate(day.getUTCDate() + 1)) {
        if (
          !months.has(day.getUTCMonth() + 1) ||
          !days.has(day.getUTCDate()) ||
          !weekdays.has(day.getUTCDay())
        ) {
          continue;
        }
        for (const h of sortedHours) {
          for (const m of sortedMinutes) {
            for (const s of sortedSeconds) {
              const t = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), h, m, s);
              if (t >= start.getTime()) return new Date(t);
            }
          }
        }
      }
      return undefined;
    },
  };
}

function parseField(text: string, field: (typeof FIELDS)[number]): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw new Error(`${field.name} field '${text}' is not valid`);
    const [, range = '', stepText] = match;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new Error(`${field.name} field '${text}' has an invalid step`);
    let low: number = field.min;
    let high: number = field.max;
    if (range !== '*') {
      const [a = '', b] = range.split('-');
      low = toNumber(a, field);
      high = b === undefined ? (stepText === undefined ? low : field.max) : toNumber(b, field);
    }
    if (low > high) throw new Error(`${field.name} field '${text}' has a range that runs backwards`);
    for (let v = low; v <= high; v += step) values.add(v);
  }
  return values;
}

function toNumber(text: string, field: (typeof FIELDS)[number]): number {
  const names: readonly string[] | undefined = 'names' in field ? field.names : undefined;
  const byName = names?.indexOf(text.toUpperCase()) ?? -1;
  let value = byName >= 0 ? byName + (field.name === 'month' ? 1 : 0) : Number(text);
  if (field.name === 'day-of-week' && value === 7) value = 0;
  if (!Number.isInteger(value) || value < field.min || value > field.max) {
    throw new Error(`${field.name} value '${text}' is out of range ${field.min}-${field.max}`);
  }
  return value;
}
