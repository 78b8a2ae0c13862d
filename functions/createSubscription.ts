import { readBodyText } from '../shared/api/jobsApi';
import { baseUrlOf, httpFunction } from './registry';
import { getServices } from './services';

export const createSubscription = httpFunction('createSubscription', {
  route: 'subscriptions',
  methods: ['POST'],
  authLevel: 'function',
  handler: async (request) => {
    const { subscriptions } = await getServices();
    return subscriptions.create(
      await readBodyText(request),
      request.headers.get('content-type'),
      baseUrlOf(request),
    );
  },
});
