import { httpFunction } from './registry';
import { getServices } from './services';

export const getJob = httpFunction('getJob', {
  route: 'jobs/{id}',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request) => {
    const { api } = await getServices();
    return api.get(request.params.id);
  },
});
