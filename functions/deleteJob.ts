import { httpFunction } from './registry';
import { getServices } from './services';

export const deleteJob = httpFunction('deleteJob', {
  route: 'jobs/{id}',
  methods: ['DELETE'],
  authLevel: 'function',
  handler: async (request) => {
    const { api } = await getServices();
    return api.delete(request.params.id);
  },
});
