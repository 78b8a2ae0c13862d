import { describe, expect, it } from 'vitest';
import { parseIsoDate, parseIsoOrUsDate, parseUnixSeconds } from '../../shared/upstream/dates';

describe('parseIsoOrUsDate', () => {
  it('reads the seed US form as UTC', () => {
    expect(parseIsoOrUsDate('1/3/2017 4:11:35 AM')).toBe('2017-01-03T04:11:35.000Z');
  });

  it.each([
    ['12/31/2017 11:59:59 PM', '2017-12-31T23:59:59.000Z'],
    ['1/3/2017 12:00:00 AM', '2017-01-03T00:00:00.000Z'],
    ['1/3/2017 12:30:00 PM', '2017-01-03T12:30:00.000Z'],
    ['01/03/2017 04:11:35 pm', '2017-01-03T16:11:35.000Z'],
    ['1/3/2017 4:11 AM', '2017-01-03T04:11:00.000Z'],
    ['1/3/2017 16:11:35', '2017-01-03T16:11:35.000Z'],
  ])('reads the US form %j', (value, iso) => {
    expect(parseIsoOrUsDate(value)).toBe(iso);
  });

  it.each([
    ['2017-01-03T04:11:35Z', '2017-01-03T04:11:35.000Z'],
    ['2017-01-03T04:11:35.1234567Z', '2017-01-03T04:11:35.123Z'],
    ['2017-01-03T04:11:35', '2017-01-03T04:11:35.000Z'],
    ['2017-01-03T05:11:35+01:00', '2017-01-03T04:11:35.000Z'],
    ['2017-01-02T23:11:35-05:00', '2017-01-03T04:11:35.000Z'],
    ['2017-01-03', '2017-01-03T00:00:00.000Z'],
  ])('reads ISO 8601 %j (no zone means UTC)', (value, iso) => {
    expect(parseIsoOrUsDate(value)).toBe(iso);
  });

  it.each([
    [null],
    [undefined],
    [42],
    [''],
    ['garbage'],
    ['13/3/2017 4:11:35 AM'],
    ['2/30/2017 4:11:35 AM'],
    ['1/3/2017 13:11:35 PM'],
    ['1/3/2017 0:11:35 AM'],
    ['2017-02-29T00:00:00Z'],
    ['2017-01-03T24:00:00Z'],
    ['2017-01-03T04:60:00Z'],
    ['2017-01-03T04:11:35+25:00'],
    ['1/3/17 4:11:35 AM'],
    ['Tue, 03 Jan 2017 04:11:35 GMT'],
    ['x'.repeat(1000)],
  ])('gives undefined for %j', (value) => {
    expect(parseIsoOrUsDate(value)).toBeUndefined();
  });
});

describe('parseIsoDate', () => {
  it('reads the Language seed dates', () => {
    expect(parseIsoDate('2022-04-18T15:47:58.8190649Z')).toBe('2022-04-18T15:47:58.819Z');
  });

  it('refuses the US form', () => {
    expect(parseIsoDate('1/3/2017 4:11:35 AM')).toBeUndefined();
  });
});

describe('parseUnixSeconds', () => {
  it('reads unix seconds as ISO UTC', () => {
    // Prepare: the created_at of a fine-tuning job. Act / Assess.
    expect(parseUnixSeconds(1_721_021_100)).toBe('2024-07-15T05:25:00.000Z');
    expect(parseUnixSeconds(0)).toBe('1970-01-01T00:00:00.000Z');
  });

  it.each([[-1], [1.5], ['1721021100'], [Number.NaN], [1e15], [null]])('refuses %j', (value) => {
    expect(parseUnixSeconds(value)).toBeUndefined();
  });
});
