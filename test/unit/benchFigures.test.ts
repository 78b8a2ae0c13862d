/**
 * How the benchmarks judge a figure against its target (bench/common.ts `figure`, `medianInterval`): on its value,
 * or on its confidence interval, where a figure misses only when the whole interval is beyond the limit.
 */
import { describe, expect, it } from 'vitest';
import { figure, median, medianInterval, type Interval } from '../../bench/common';

const ratioFigure = (
  ratio: number,
  op: '<=' | '>=',
  limit: number,
  interval?: Interval,
  judge: 'point' | 'interval' = 'interval',
): boolean | undefined =>
  figure({
    benchmark: '1 cached read',
    name: 'c=1 handler p99',
    measured: ratio,
    unit: 'ms',
    baseline: { value: 1, label: 'raw' },
    ratio,
    ...(interval ? { interval } : {}),
    target: { on: 'ratio', op, limit, judge },
  }).pass;

describe('judging a benchmark figure', () => {
  it('passes an at-most target whose interval reaches below the limit, even when the median ratio is above it', () => {
    // Prepare: a p99 ratio of 1.20 measured over rounds whose medians could be anywhere in 1.02–1.45.
    const interval = { low: 1.02, high: 1.45, level: 0.9 };

    // Act
    const judgedOnInterval = ratioFigure(1.2, '<=', 1.15, interval);
    const judgedOnPoint = ratioFigure(1.2, '<=', 1.15, interval, 'point');

    // Assess
    expect(judgedOnInterval).toBe(true);
    expect(judgedOnPoint).toBe(false);
  });

  it('misses an at-most target when the whole interval is above the limit', () => {
    // Prepare / Act
    const pass = ratioFigure(1.4, '<=', 1.15, { low: 1.16, high: 1.7, level: 0.9 });

    // Assess
    expect(pass).toBe(false);
  });

  it('judges an at-least target on the top of the interval', () => {
    // Prepare / Act
    const reaches = ratioFigure(0.82, '>=', 0.85, { low: 0.78, high: 0.9, level: 0.9 });
    const fallsShort = ratioFigure(0.78, '>=', 0.85, { low: 0.7, high: 0.84, level: 0.9 });

    // Assess
    expect(reaches).toBe(true);
    expect(fallsShort).toBe(false);
  });

  it('misses an interval target that has no interval to judge', () => {
    // Prepare / Act
    const pass = ratioFigure(1, '<=', 1.15);

    // Assess
    expect(pass).toBe(false);
  });
});

describe('the bootstrap interval of a median', () => {
  it('holds the median, is a single point when every value agrees, and is the same for the same values', () => {
    // Prepare: per-round ratios, most near 1 and a few far off (rounds that caught a pause on one side).
    const spread = [0.62, 0.91, 0.95, 0.98, 1, 1, 1.01, 1.03, 1.04, 1.07, 1.1, 1.52, 1.8, 0.97, 1.02, 0.99];
    const agreeing = Array.from({ length: 12 }, () => 1.05);

    // Act
    const interval = medianInterval(spread);
    const again = medianInterval(spread);
    const point = medianInterval(agreeing);

    // Assess
    expect(interval.low).toBeLessThanOrEqual(median(spread));
    expect(interval.high).toBeGreaterThanOrEqual(median(spread));
    expect(interval.low).toBeGreaterThan(0.62); // the median of 16 values is not dragged to an outlier
    expect(interval.high).toBeLessThan(1.52);
    expect(again).toEqual(interval);
    expect(point).toEqual({ low: 1.05, high: 1.05, level: 0.9 });
  });

  it('narrows as more rounds agree on the same spread', () => {
    // Prepare: the same spread of per-round ratios, over 8 rounds and over 64.
    const pattern = [0.8, 0.9, 1, 1, 1, 1.1, 1.2, 1.3];
    const few = pattern;
    const many = Array.from({ length: 8 }, () => pattern).flat();

    // Act
    const wide = medianInterval(few);
    const narrow = medianInterval(many);

    // Assess
    expect(narrow.high - narrow.low).toBeLessThan(wide.high - wide.low);
  });
});
