/** The simulated Conversational Analysis Authoring – Get Training Status API for `language.conversationAuthoring`. */
import { languageConversationAuthoringAdapter } from '../../shared/upstream/kinds/languageConversationAuthoring';
import { createLanguageAuthoringApi } from './languageAuthoring';
import type { SimulatedApi } from './types';

export function createLanguageConversationAuthoringApi(): SimulatedApi {
  return createLanguageAuthoringApi(
    languageConversationAuthoringAdapter,
    {
      segment: 'analyze-conversations',
      extraResult: { trainingMode: 'standard' },
      sampleProject: 'TravelBot',
    },
    () => ({}),
  );
}
