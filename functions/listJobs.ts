import { baseUrlOf, httpFunction } from './registry';
import { getServices } from './services';

export const listJobs = httpFunction('listJobs', {
  route: 'jobs',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request) => {
    const { api } = await getServices();
    return api.list(request.query, baseUrlOf(request));
  },
});
