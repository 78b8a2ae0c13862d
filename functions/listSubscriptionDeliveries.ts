import { baseUrlOf, httpFunction } from './registry';
import { getServices } from './services';

export const listSubscriptionDeliveries = httpFunction('listSubscriptionDeliveries', {
  route: 'subscriptions/{id}/deliveries',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request) => {
    const { subscriptions } = await getServices();
    return subscriptions.listDeliveries(request.params.id, request.query, baseUrlOf(request));
  },
});
