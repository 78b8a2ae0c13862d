import { httpFunction } from './registry';
import { getServices } from './services';

export const rotateSubscriptionSecret = httpFunction('rotateSubscriptionSecret', {
  route: 'subscriptions/{id}/rotate-secret',
  methods: ['POST'],
  authLevel: 'function',
  handler: async (request) => {
    const { subscriptions } = await getServices();
    return subscriptions.rotate(request.params.id);
  },
});
