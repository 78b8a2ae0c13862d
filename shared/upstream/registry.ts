/** Every job kind (docs/spec.md §2). Adding a kind = one adapter file + one line here. */
import { facePersonGroupAdapter } from './face';
import { languageTextAuthoringAdapter } from './language';
import type { JobAdapter } from './types';

const adapters: ReadonlyMap<string, JobAdapter> = new Map(
  [facePersonGroupAdapter, languageTextAuthoringAdapter].map((adapter) => [adapter.kind, adapter]),
);

export function getAdapter(kind: string): JobAdapter | undefined {
  return adapters.get(kind);
}

export function listKinds(): string[] {
  return [...adapters.keys()];
}
