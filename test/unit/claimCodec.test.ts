/**
 * The claim a `polls` message carries (docs/spec.md §5). A budget whose spacing is not a whole number of ms (e.g.
 * 180000/h: 20.4 ms) gives fractional slots, and with them a fractional claim end: such a claim must still decode,
 * else the worker drops every handed-off poll of that resource as "not a claim of this app".
 */
import { describe, expect, it } from 'vitest';
import { decodeClaim, encodeClaim } from '../../shared/poller/handOff';

const JOB = '0123456789abcdef0123456789abcdef';

describe('the claim in a polls message', () => {
  it('decodes when the slot, and so the claim end, is a fraction of a millisecond', () => {
    // Prepare
    const claim = { jobId: JOB, token: 'k3x9', due: 1_764_460_800_000, until: 1_764_460_820_412.4 };

    // Act
    const decoded = decodeClaim(JOB, encodeClaim(claim));

    // Assess
    expect(decoded).toEqual({ jobId: JOB, token: 'k3x9', due: claim.due, until: 1_764_460_820_412 });
  });

  it('round-trips a whole-millisecond claim unchanged', () => {
    // Prepare
    const claim = { jobId: JOB, token: 'abc', due: 1_764_460_800_000, until: 1_764_460_830_000 };

    // Act
    const decoded = decodeClaim(JOB, encodeClaim(claim));

    // Assess
    expect(decoded).toEqual(claim);
  });
});
