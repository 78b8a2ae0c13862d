/**
 * The last read of each of the most recently read keys (at most `maxEntries` keys: when one more comes the oldest
 * goes), reused while the row is unchanged: every write of a Table row gives it a new storage ETag.
 *
 * A read is kept from the second time its row is read at the same ETag. A row read once per change (one app, polling
 * less often than the job is polled) costs only its ETag here: keeping every read would make each a long-lived
 * object, and the collection of those costs more than parsing the row again. Kept reads are frozen: callers share
 * them, and may derive from them once (`Object.isFrozen`).
 */
export class RecentReads<T> {
  private readonly reads = new Map<string, { etag: string; read: T | undefined }>();

  constructor(private readonly maxEntries: number) {}

  /** The kept read of `key` at `etag`; else `parse()`'s, kept (frozen) when this is the row's second read. */
  get(key: string, etag: string | undefined, parse: () => T): T {
    const known = this.reads.get(key);
    if (known !== undefined && known.etag === etag) return (known.read ??= deepFreeze(parse()));
    const read = parse();
    if (etag === undefined) return read;
    this.reads.delete(key); // a re-added key becomes the newest
    this.reads.set(key, { etag, read: undefined });
    if (this.reads.size > this.maxEntries) this.reads.delete(this.reads.keys().next().value!);
    return read;
  }

  delete(key: string): void {
    this.reads.delete(key);
  }

  /** How many keys are tracked (their ETag, and their read once it is kept). */
  get size(): number {
    return this.reads.size;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
