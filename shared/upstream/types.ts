import type { Identity, JobStatus, PollOutcome } from '../model';

/** A budget: at most `calls` calls in any window of `periodMs`. */
export interface RateBudget {
  calls: number;
  periodMs: number;
}

/** One problem with one field of a registration. `target` is the JSON property name. */
export interface FieldProblem {
  target: string;
  message: string;
}

/** The raw upstream answer, as read by `fetchUpstream` (body already capped). */
export interface UpstreamResponse {
  status: number;
  headers: Headers;
  bodyText: string;
}

/**
 * One identity field of a kind (docs/spec.md §2): its JSON property name in a registration body and its rule. Build it with
 * the rules of `identity.ts` (`faceIdField`, `guidField`, `segmentField`): they give the message a caller sees.
 */
export interface IdentityField {
  readonly name: string;
  /** The problem with `value` (a message naming the field), or undefined when the value is valid. */
  problem(value: unknown): string | undefined;
}

/**
 * The upstream request of one api version: a path template and query, after `{endpoint}`. `{field}` in the path
 * stands for the identity field of that name (percent-encoded when the URL is built); the api version is written
 * by the kind itself (in the path or in the query), never as a placeholder.
 */
export interface UpstreamRoute {
  /** e.g. `/face/v1.0/persongroups/{personGroupId}/training` */
  readonly path: string;
  /** e.g. `{ 'api-version': '2022-05-01' }`; `{}` when the version is in the path. */
  readonly query: Readonly<Record<string, string>>;
}

/**
 * How a job of the kind lives (docs/spec.md §3): a `run` (Language training job, Document Intelligence build, ...) ends
 * for good in one of its terminal statuses; a `resource` (Face person group, large face list) can be retrained at
 * any time, so after `succeeded` / `failed` it is only idle.
 */
export type Lifecycle = { shape: 'run'; terminal: ReadonlySet<JobStatus> } | { shape: 'resource' };

/**
 * Everything one job kind knows (docs/spec.md §2), written once in its adapter file `shared/upstream/<kind>.ts` and turned
 * into a `JobAdapter` by `defineKind`. Nothing else in the product names a kind: the allow-list, the registration
 * rules, the poller, the simulator and the tests read these members through the registry (`registry.ts`).
 *
 * Rules for `interpret` (docs/spec.md §3 / §4):
 * - Pure: no I/O, no clock (`now` is passed in, for relative hints such as "in 2.12 days").
 * - Never throws, whatever the body: a 200 whose body is not the documented shape is an `InvalidResponse`
 *   failure (`invalidResponse` in `classify.ts`); a truncated body (`isTruncated`) is never read as a status.
 * - A 200 gives `{ kind: 'status', reading }`: `status` normalized (an unknown upstream string → `running` with
 *   `unknownUpstreamStatus: true`), `upstreamStatus` the raw string, `upstream` the validated body with the kind's
 *   documented fields only (bounded with `safeText`), `upstreamUpdatedAt` from `orderingField` as ISO UTC (dates
 *   parsed with `dates.ts`), `percentComplete` only when the upstream sends it (never invented).
 * - Anything else goes through `classifyHttpError(response, now, hooks)` (the shared §4 table); a kind adds its
 *   own codes through `ClassifyHooks` or answers a status itself (Face `...NotTrained` 404 → `notStarted`).
 */
export interface KindSpec {
  /** `<service>.<thing>`, e.g. `face.personGroup`. Stored with every job: never rename. */
  readonly kind: string;
  /** Every accepted api version, the default first. */
  readonly apiVersions: readonly [string, ...string[]];
  /** The identity fields, in the order they appear in the URL (the job id is derived from them in this order). */
  readonly identity: readonly IdentityField[];
  /** The request of each api version (docs/spec.md §2). */
  route(apiVersion: string): UpstreamRoute;
  /** Header that carries the key (`Ocp-Apim-Subscription-Key`, `api-key`, `Training-Key`). */
  readonly keyHeader: string;
  /**
   * Host patterns the key may be sent to (docs/spec.md §8): `*.` is exactly one DNS label. Start from
   * `COGNITIVE_SERVICES_HOSTS` (`hosts.ts`) and add the kind's own families (Azure OpenAI's `*.openai.azure.com`).
   */
  readonly allowedHosts: readonly string[];
  /** Safe default budget per resource for this kind (free tier), used when `UPSTREAM_RATE_LIMITS` names none. */
  readonly defaultBudget: RateBudget;
  /**
   * The upstream field whose time orders updates (`lastActionDateTime`, `lastUpdatedDateTime`, `lastModified`);
   * `interpret` copies it into `reading.upstreamUpdatedAt`. Undefined when the kind has none (Azure OpenAI).
   */
  readonly orderingField: string | undefined;
  readonly lifecycle: Lifecycle;
  /** Turns any upstream answer into exactly one outcome (parse a 200, classify the rest). */
  interpret(response: UpstreamResponse, now: Date): PollOutcome;
}

/**
 * One adapter per job kind (docs/spec.md §2): the kind's spec plus what the rest of the product derives from it. Build
 * it with `defineKind(spec)`; never implement the derived members by hand.
 */
export interface JobAdapter extends KindSpec {
  /** `apiVersions[0]`. */
  readonly defaultApiVersion: string;
  /** Names of the identity fields, in URL order. */
  readonly identityFields: readonly string[];
  /**
   * `terminal`: never polled again. `idle`: polled at the idle interval (a resource after a run; `notFound`).
   * `active`: polled at the job interval.
   */
  phase(status: JobStatus): 'active' | 'idle' | 'terminal';
  /** Validates the identity fields of a registration body; returns the identity or every problem. */
  parseIdentity(body: Readonly<Record<string, unknown>>): { identity?: Identity; problems: FieldProblem[] };
  /** The full status URL (identity values percent-encoded). `endpoint` is a normalized origin. */
  buildUrl(endpoint: string, identity: Identity, apiVersion: string): string;
}
