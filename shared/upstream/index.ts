/** The public surface of the upstream module: adapters by kind, the origin allow-list, the HTTP call. */
export type { FieldProblem, JobAdapter, RateBudget, UpstreamResponse } from './types';
export { checkExtraOrigin, checkUpstreamOrigin, resourceOf, type OriginCheck } from './allowList';
export {
  DEFAULT_MAX_BODY_BYTES,
  fetchUpstream,
  type FetchedUpstreamResponse,
  type FetchUpstreamOptions,
} from './http';
export {
  classifyHttpError,
  parseErrorBody,
  parseQuotaReplenishHint,
  parseRetryAfter,
  parseRetryAfterMs,
  parseTryAgainHint,
  retryAfterFromHeaders,
  type ClassifyHooks,
  type ParsedErrorBody,
} from './classify';
export { parseFaceDate, parseIsoDate } from './faceDate';
export { facePersonGroupAdapter } from './face';
export { languageTextAuthoringAdapter } from './language';
export { getAdapter, listKinds } from './registry';
