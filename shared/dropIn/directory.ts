/**
 * Which Key Vault secrets hold the keys of each upstream resource (docs/spec.md §13): a drop-in read of a job that
 * is not registered yet is authorized with, and registered under, the `keySecretName` of a job already registered
 * on the same resource. Built from one scan of the jobs (pages of 100), kept in memory, and scanned again at most
 * every `minRescanMs` (a miss) or `ttlMs` (a hit), one scan at a time: requests for any number of unknown
 * resources cost at most one scan per `minRescanMs`.
 */
import type { Clock } from '../clock';
import type { JobStore } from '../store/types';
import { resourceOf } from '../upstream/allowList';

export interface ResourceDirectoryOptions {
  /** A hit older than this is scanned again (default 60 s). */
  ttlMs?: number;
  /** A miss is scanned again when the last scan is at least this old (default 5 s). */
  minRescanMs?: number;
}

export class ResourceDirectory {
  private secrets = new Map<string, Set<string>>();
  private scannedAt = Number.NEGATIVE_INFINITY;
  private scan: Promise<void> | undefined;
  private readonly ttlMs: number;
  private readonly minRescanMs: number;

  constructor(
    private readonly store: Pick<JobStore, 'list'>,
    private readonly clock: Clock,
    options: ResourceDirectoryOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.minRescanMs = options.minRescanMs ?? 5_000;
  }

  /** The secret names of the jobs registered on `resource` (lowercase `host[:port]`); empty when none. */
  async secretNamesFor(resource: string, options: { abortSignal?: AbortSignal } = {}): Promise<string[]> {
    const age = this.clock.now().getTime() - this.scannedAt;
    const known = this.secrets.get(resource);
    if (age >= (known ? this.ttlMs : this.minRescanMs)) await this.rescan(options);
    return [...(this.secrets.get(resource) ?? [])];
  }

  /** A job registered here (on the fly) is known at once. */
  add(resource: string, keySecretName: string): void {
    const names = this.secrets.get(resource) ?? new Set<string>();
    names.add(keySecretName);
    this.secrets.set(resource, names);
  }

  private rescan(options: { abortSignal?: AbortSignal }): Promise<void> {
    this.scan ??= this.readAll(options).finally(() => {
      this.scan = undefined;
    });
    return this.scan;
  }

  private async readAll(options: { abortSignal?: AbortSignal }): Promise<void> {
    const startedAt = this.clock.now().getTime();
    const secrets = new Map<string, Set<string>>();
    let continuationToken: string | undefined;
    do {
      const page = await this.store.list({
        top: 100,
        ...(continuationToken !== undefined ? { continuationToken } : {}),
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
      for (const job of page.items) {
        const resource = resourceOf(job.endpoint);
        const names = secrets.get(resource) ?? new Set<string>();
        names.add(job.keySecretName);
        secrets.set(resource, names);
      }
      continuationToken = page.continuationToken;
    } while (continuationToken !== undefined);
    this.secrets = secrets;
    this.scannedAt = startedAt;
  }
}
