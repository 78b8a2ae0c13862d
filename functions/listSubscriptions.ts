import { baseUrlOf, httpFunction } from './registry';
import { getServices } from './services';

export const listSubscriptions = httpFunction('listSubscriptions', {
  route: 'subscriptions',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request) => {
    const { subscriptions } = await getServices();
    return subscriptions.list(request.query, baseUrlOf(request));
  },
});
