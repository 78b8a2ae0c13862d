import { baseUrlOf, httpFunction } from './registry';
import { getServices } from './services';

export const getJobHistory = httpFunction('getJobHistory', {
  route: 'jobs/{id}/history',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request) => {
    const { api } = await getServices();
    return api.history(request.params.id, request.query, baseUrlOf(request));
  },
});
