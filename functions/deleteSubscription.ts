import { httpFunction } from './registry';
import { getServices } from './services';

export const deleteSubscription = httpFunction('deleteSubscription', {
  route: 'subscriptions/{id}',
  methods: ['DELETE'],
  authLevel: 'function',
  handler: async (request) => {
    const { subscriptions } = await getServices();
    return subscriptions.delete(request.params.id);
  },
});
