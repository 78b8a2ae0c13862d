/** Hands out budget slots (ms since epoch) in order, none before `notBefore`; undefined when none is left. */
export type SlotSource = (notBefore?: number) => Promise<number | undefined>;

/** Reserved slots, shared by the workers of one resource; slots passed over (inside a pause) are dropped. */
export function queueOf(reserved: readonly number[]): SlotSource {
  const queue = [...reserved];
  return (notBefore = 0) => {
    while (queue.length > 0 && (queue[0] ?? 0) < notBefore) queue.shift();
    return Promise.resolve(queue.shift());
  };
}
