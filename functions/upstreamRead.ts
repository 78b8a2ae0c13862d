import { contextLogger, httpFunction } from './registry';
import { getServices } from './services';

/**
 * Drop-in upstream-shaped reads (docs/spec.md §13): an SDK pointed at `/api/upstream/{resource}` reads the cached
 * answer in the upstream's own shape. Anonymous to the host: the upstream's own key header authorizes each request
 * (checked in code against Key Vault). Every method is routed here so that writes get a 405 in the upstream's shape.
 */
export const upstreamRead = httpFunction('upstreamRead', {
  route: 'upstream/{resource}/{*path}',
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  authLevel: 'anonymous',
  handler: async (request, context) => {
    const { dropIn } = await getServices();
    return dropIn.withLogger(contextLogger(context)).read(request);
  },
});
