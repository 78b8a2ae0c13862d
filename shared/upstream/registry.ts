/**
 * The kind registry (docs/spec.md §2): every job kind, one line each. Adding a kind = one adapter file in `kinds/` (see
 * `KindSpec` in `types.ts`), its fixtures and tests, its simulated API in `dev/simulator/`, and one line here.
 * Everything else (registration, the allow-list, the poller, OpenAPI checks, tests, benchmarks) reads this list.
 */
import { customVisionIterationAdapter } from './kinds/customVisionIteration';
import { documentIntelligenceModelBuildAdapter } from './kinds/documentIntelligenceModelBuild';
import { faceLargeFaceListAdapter } from './kinds/faceLargeFaceList';
import { faceLargePersonGroupAdapter } from './kinds/faceLargePersonGroup';
import { facePersonGroupAdapter } from './kinds/facePersonGroup';
import { languageConversationAuthoringAdapter } from './kinds/languageConversationAuthoring';
import { languageTextAuthoringAdapter } from './kinds/languageTextAuthoring';
import { openAiFineTuningAdapter } from './kinds/openaiFineTuning';
import { speechCustomModelAdapter } from './kinds/speechCustomModel';
import type { JobAdapter } from './types';

const ADAPTERS: readonly JobAdapter[] = [
  facePersonGroupAdapter,
  faceLargePersonGroupAdapter,
  faceLargeFaceListAdapter,
  languageTextAuthoringAdapter,
  languageConversationAuthoringAdapter,
  documentIntelligenceModelBuildAdapter,
  speechCustomModelAdapter,
  openAiFineTuningAdapter,
  customVisionIterationAdapter,
];

const byKind: ReadonlyMap<string, JobAdapter> = new Map(ADAPTERS.map((adapter) => [adapter.kind, adapter]));

export function getAdapter(kind: string): JobAdapter | undefined {
  return byKind.get(kind);
}

export function listKinds(): string[] {
  return ADAPTERS.map((adapter) => adapter.kind);
}

/** Every adapter, in registry order. */
export function listAdapters(): readonly JobAdapter[] {
  return ADAPTERS;
}
