/** `language.textAuthoring`: Language Text Analysis Authoring – Get Training Status (SPEC §2, seed 003). */
import { defineKind } from '../kind';
import { languageAuthoringSpec } from '../languageAuthoring';

export const languageTextAuthoringAdapter = defineKind(
  languageAuthoringSpec({
    kind: 'language.textAuthoring',
    segment: 'analyze-text',
    apiVersions: ['2022-05-01', '2023-04-01'],
  }),
);
