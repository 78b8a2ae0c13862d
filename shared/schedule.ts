/**
 * NCRONTAB (six fields: second minute hour day month day-of-week), as the Functions timer trigger reads it.
 * Used to validate `POLL_SCHEDULE` at start and by the local host to fire the timer. The parsing and the next
 * occurrence are croner's; this module fixes the NCRONTAB reading: exactly six fields, UTC, and a day that must
 * match both the day and the day-of-week fields when both are given.
 */
import { Cron } from 'croner';

export interface Schedule {
  /** The first occurrence strictly after `after` (UTC), or undefined when there is none. */
  next(after: Date): Date | undefined;
}

const NCRONTAB_ITEM = /^(\*|\d+|[A-Za-z]{3})(-(\d+|[A-Za-z]{3}))?(\/\d+)?$/;

/** Parses an NCRONTAB expression; throws an Error saying what is wrong. */
export function parseSchedule(expression: string): Schedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new Error(`expected six fields (second minute hour day month day-of-week), got ${parts.length}`);
  }
  // NCRONTAB items only (numbers or three-letter names, ranges, steps): not the Quartz `?`, `L`, `W`, `#` croner reads.
  for (const part of parts) {
    if (!part.split(',').every((item) => NCRONTAB_ITEM.test(item)))
      throw new Error(`field '${part}' is not NCRONTAB (numbers or names, ranges, steps, lists)`);
  }
  let cron: Cron;
  try {
    cron = new Cron(parts.join(' '), { mode: '6-part', timezone: 'UTC', domAndDow: true, paused: true });
  } catch (error) {
    throw new Error(`'${expression}' is not a valid schedule: ${(error as Error).message}`);
  }
  return {
    next: (after) => cron.nextRun(after) ?? undefined,
  };
}
