/** The public surface of the upstream module: adapters by kind, the origin allow-list, the HTTP call. */
export type {
  FieldProblem,
  IdentityField,
  JobAdapter,
  KindSpec,
  Lifecycle,
  RateBudget,
  UpstreamResponse,
  UpstreamRoute,
} from './types';
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
export { parseIsoDate, parseIsoOrUsDate, parseUnixSeconds } from './dates';
export { COGNITIVE_SERVICES_HOSTS } from './hosts';
export { defineKind, routeUrl } from './kind';
export { getAdapter, listAdapters, listKinds } from './registry';
