import { httpFunction } from './registry';
import { getServices } from './services';

/** Anonymous: the last cycle's figures only; no job data, no secrets. */
export const health = httpFunction('health', {
  route: 'health',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () => {
    const { api } = await getServices();
    return api.health();
  },
});
