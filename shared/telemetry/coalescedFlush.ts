/**
 * One flush at a time, shared by the callers that ask meanwhile: a caller gets a flush that starts after it asked
 * (so it covers what the caller recorded), and a burst of callers (the 16 messages of a queue batch ending
 * together) costs at most the flush in progress and one more, not one export each.
 */
export function coalescedFlush(flush: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const start = (): Promise<void> => {
    const run = flush().finally(() => {
      if (running === run) running = undefined;
    });
    running = run;
    return run;
  };
  return () => {
    if (!running) return start();
    // A flush is in progress and may have collected before this caller recorded: join the one after it.
    next ??= running
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
}
