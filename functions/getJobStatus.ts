import { httpFunction, requestAbortSignal } from './registry';
import { getServices } from './services';

/**
 * The hot path: one Table point read, never an upstream call. A GET with `Prefer: wait=N` and If-None-Match is a
 * long-poll (docs/spec.md §7); HEAD answers at once.
 */
export const getJobStatus = httpFunction('getJobStatus', {
  route: 'jobs/{id}/status',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request) => {
    const { api } = await getServices();
    const prefer = request.method === 'GET' ? request.headers.get('prefer') : null;
    // Only a request that may wait needs to know when its client goes away.
    const abortSignal = prefer !== null ? requestAbortSignal(request) : undefined;
    return api.getStatus(request.params.id, request.headers.get('if-none-match'), {
      prefer,
      ...(abortSignal ? { abortSignal } : {}),
    });
  },
});
