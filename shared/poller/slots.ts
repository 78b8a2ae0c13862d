/** Hands out budget slots (ms since epoch) in order, none before `notBefore`; undefined when none is left. */
export type SlotSource = (notBefore?: number) => Promise<number | undefined>;

/** A slot source over reserved slots, to which more reserved slots can be added. */
export interface SlotQueue extends SlotSource {
  /** Adds slots reserved later (after every slot in the queue). */
  add(slots: readonly number[]): void;
}

/** Reserved slots, shared by the workers of one resource; slots passed over (inside a pause) are dropped. */
export function queueOf(reserved: readonly number[]): SlotQueue {
  const queue = [...reserved];
  const take = (notBefore = 0): Promise<number | undefined> => {
    while (queue.length > 0 && (queue[0] ?? 0) < notBefore) queue.shift();
    return Promise.resolve(queue.shift());
  };
  return Object.assign(take, { add: (slots: readonly number[]) => void queue.push(...slots) });
}
