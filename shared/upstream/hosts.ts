/**
 * Host families of SPEC §8, as patterns for `KindSpec.allowedHosts` (`*.` = exactly one DNS label). Every kind
 * allows the Cognitive Services families; a kind adds its own (Azure OpenAI's) in its adapter file.
 */
export const COGNITIVE_SERVICES_HOSTS: readonly string[] = [
  '*.cognitiveservices.azure.com',
  '*.api.cognitive.microsoft.com',
  '*.cognitiveservices.azure.cn',
  '*.api.cognitive.azure.cn',
  'api.cognitive.azure.cn',
  '*.cognitiveservices.azure.us',
  '*.api.cognitive.microsoft.us',
];

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';

/** `*.example.com` → a RegExp matching one DNS label before `.example.com`; anything else matches exactly. */
export function hostPatternRegExp(pattern: string): RegExp {
  const lower = pattern.toLowerCase();
  const wildcard = lower.startsWith('*.');
  const rest = (wildcard ? lower.slice(2) : lower).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(wildcard ? `^${LABEL}\\.${rest}$` : `^${rest}$`);
}
