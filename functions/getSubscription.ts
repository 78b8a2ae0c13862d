import { httpFunction } from './registry';
import { getServices } from './services';

export const getSubscription = httpFunction('getSubscription', {
  route: 'subscriptions/{id}',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request) => {
    const { subscriptions } = await getServices();
    return subscriptions.get(request.params.id);
  },
});
