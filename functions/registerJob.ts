import { readBodyText } from '../shared/api/jobsApi';
import { baseUrlOf, httpFunction } from './registry';
import { getServices } from './services';

export const registerJob = httpFunction('registerJob', {
  route: 'jobs',
  methods: ['POST'],
  authLevel: 'function',
  handler: async (request) => {
    const { api } = await getServices();
    return api.register(await readBodyText(request), request.headers.get('content-type'), baseUrlOf(request));
  },
});
