import { describe, expect, it } from 'vitest';
import { RecentReads } from '../../shared/store/recentReads';

interface Read {
  n: number;
  inner: { n: number };
}

/** A parser that counts its calls. */
function parser(): { parse: (n: number) => () => Read; calls: () => number } {
  let calls = 0;
  return {
    parse: (n) => () => {
      calls++;
      return { n, inner: { n } };
    },
    calls: () => calls,
  };
}

describe('RecentReads', () => {
  it('keeps a read from the second read of an unchanged row, and parses again once the row changed', () => {
    // Prepare
    const reads = new RecentReads<Read>(10);
    const { parse, calls } = parser();

    // Act
    const first = reads.get('a', 'e1', parse(1));
    const second = reads.get('a', 'e1', parse(2));
    const third = reads.get('a', 'e1', parse(3));
    const changed = reads.get('a', 'e2', parse(4));

    // Assess
    expect(first.n).toBe(1);
    expect(second.n).toBe(2);
    expect(third).toBe(second);
    expect(changed.n).toBe(4);
    expect(calls()).toBe(3);
  });

  it('does not keep a read that is read once, nor hand it out frozen', () => {
    // Prepare
    const reads = new RecentReads<Read>(10);
    const { parse } = parser();

    // Act
    const once = reads.get('a', 'e1', parse(1));
    reads.get('b', 'e1', parse(2));
    const kept = reads.get('b', 'e1', parse(3));
    const again = reads.get('b', 'e1', parse(4));

    // Assess
    expect(Object.isFrozen(once)).toBe(false);
    expect(again).toBe(kept);
    expect(Object.isFrozen(kept)).toBe(true);
    expect(Object.isFrozen(kept.inner)).toBe(true);
  });

  it('tracks at most its limit of keys, dropping the least recently added first', () => {
    // Prepare
    const reads = new RecentReads<Read>(2);
    const { parse, calls } = parser();
    for (const key of ['a', 'b']) {
      reads.get(key, 'e', parse(1));
      reads.get(key, 'e', parse(1)); // kept
    }
    reads.get('a', 'e2', parse(1)); // changed: now the newest
    reads.get('a', 'e2', parse(1)); // kept

    // Act
    reads.get('c', 'e', parse(1));
    const before = calls();
    reads.get('a', 'e2', parse(1));
    reads.get('b', 'e', parse(1));

    // Assess
    expect(reads.size).toBe(2);
    expect(calls() - before).toBe(1); // 'a' was kept, 'b' had gone
  });

  it('keeps nothing for a read without an ETag, and forgets a deleted key', () => {
    // Prepare
    const reads = new RecentReads<Read>(10);
    const { parse, calls } = parser();

    // Act
    for (let i = 0; i < 3; i++) reads.get('a', undefined, parse(1));
    reads.get('b', 'e', parse(1));
    reads.get('b', 'e', parse(1));
    reads.delete('b');
    reads.get('b', 'e', parse(1));
    reads.get('b', 'e', parse(1));

    // Assess
    expect(calls()).toBe(7);
    expect(reads.size).toBe(1);
  });
});
