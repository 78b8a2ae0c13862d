import { contextLogger, httpFunction } from './registry';
import { getServices } from './services';

export const refreshJob = httpFunction('refreshJob', {
  route: 'jobs/{id}/refresh',
  methods: ['POST'],
  authLevel: 'function',
  handler: async (request, context) => {
    const { api } = await getServices();
    return api.withLogger(contextLogger(context)).refresh(request.params.id);
  },
});
