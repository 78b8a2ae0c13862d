/**
 * The function app's entry (package.json `main`). Importing it registers every function with the Functions
 * host; the local host (dev/host.ts) serves the same table.
 */
import { createSubscription } from './createSubscription';
import { deleteJob } from './deleteJob';
import { deleteSubscription } from './deleteSubscription';
import { getJob } from './getJob';
import { getJobHistory } from './getJobHistory';
import { getJobStatus } from './getJobStatus';
import { getSubscription } from './getSubscription';
import { health } from './health';
import { listJobs } from './listJobs';
import { listSubscriptionDeliveries } from './listSubscriptionDeliveries';
import { listSubscriptions } from './listSubscriptions';
import { openApi } from './openapi';
import { pollJob } from './pollJob';
import { pollJobs } from './pollJobs';
import { refreshJob } from './refreshJob';
import { registerJob } from './registerJob';
import { rotateSubscriptionSecret } from './rotateSubscriptionSecret';
import { upstreamRead } from './upstreamRead';
import type { FunctionDefinition } from './registry';
import { getConfig } from './services';

// Fail fast: invalid settings stop the app at start, listing every problem.
getConfig();

export const functionTable: readonly FunctionDefinition[] = [
  registerJob,
  listJobs,
  getJob,
  getJobStatus,
  getJobHistory,
  refreshJob,
  deleteJob,
  health,
  openApi,
  pollJobs,
  pollJob,
  createSubscription,
  listSubscriptions,
  getSubscription,
  deleteSubscription,
  rotateSubscriptionSecret,
  listSubscriptionDeliveries,
  upstreamRead,
];
