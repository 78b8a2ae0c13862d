/**
 * `language.conversationAuthoring`: Language Conversational Analysis Authoring – Get Training Status (docs/spec.md §2; as
 * text authoring, with `result.trainingMode` kept, §3).
 */
import { defineKind } from '../kind';
import { languageAuthoringSpec } from '../languageAuthoring';

export const languageConversationAuthoringAdapter = defineKind(
  languageAuthoringSpec({
    kind: 'language.conversationAuthoring',
    segment: 'analyze-conversations',
    apiVersions: ['2023-04-01', '2022-05-01'],
    extraResultFields: ['trainingMode'],
  }),
);
