/**
 * The simulated API of every kind, one line each (the simulator's side of `shared/upstream/registry.ts`). Each
 * factory makes a fresh API (its own jobs) for one simulator; its `extension` methods join the simulator object.
 */
import { createCustomVisionIterationApi } from './customVisionIteration';
import { createDocumentIntelligenceModelBuildApi } from './documentIntelligenceModelBuild';
import { createFaceLargeFaceListApi } from './faceLargeFaceList';
import { createFaceLargePersonGroupApi } from './faceLargePersonGroup';
import { createFacePersonGroupApi } from './facePersonGroup';
import { createLanguageConversationAuthoringApi } from './languageConversationAuthoring';
import { createLanguageTextAuthoringApi } from './languageTextAuthoring';
import { createOpenAiFineTuningApi } from './openaiFineTuning';
import { createSpeechCustomModelApi } from './speechCustomModel';
import type { Identity } from '../../shared/model';
import type { SimulatedApi } from './types';

const FACTORIES = [
  createFacePersonGroupApi,
  createFaceLargePersonGroupApi,
  createFaceLargeFaceListApi,
  createLanguageTextAuthoringApi,
  createLanguageConversationAuthoringApi,
  createDocumentIntelligenceModelBuildApi,
  createSpeechCustomModelApi,
  createOpenAiFineTuningApi,
  createCustomVisionIterationApi,
] as const;

type ExtensionOf<F> = F extends () => SimulatedApi<infer E> ? E : never;
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;

/** Every kind's own setup methods (`addFaceGroup`, `addLanguageJob`, ...), as the simulator offers them. */
export type KindMethods = UnionToIntersection<ExtensionOf<(typeof FACTORIES)[number]>>;

/** A fresh simulated API per kind, and their methods merged. */
export function createSimulatedApis(): { apis: SimulatedApi[]; methods: KindMethods } {
  const apis: SimulatedApi[] = FACTORIES.map((create) => create());
  const methods = Object.assign({}, ...apis.map((api) => api.extension)) as KindMethods;
  return { apis, methods };
}

let samples: ReadonlyMap<string, SimulatedApi> | undefined;

/** The identity a simulator makes from `seed` for `kind`, without a simulator (it depends on the seed only). */
export function sampleIdentityOf(kind: string, seed: string): Identity {
  samples ??= new Map(createSimulatedApis().apis.map((api) => [api.adapter.kind, api]));
  const api = samples.get(kind);
  if (!api) throw new Error(`the simulator does not speak kind '${kind}'`);
  return api.sampleIdentity(seed);
}
