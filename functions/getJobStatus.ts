import { httpFunction } from './registry';
import { getServices } from './services';

/** The hot path: one Table point read, never an upstream call. */
export const getJobStatus = httpFunction('getJobStatus', {
  route: 'jobs/{id}/status',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request) => {
    const { api } = await getServices();
    return api.getStatus(request.params.id, request.headers.get('if-none-match'));
  },
});
