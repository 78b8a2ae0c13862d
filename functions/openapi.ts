import openApiDocument from '../openapi.json';
import { httpFunction } from './registry';

/** Anonymous: the OpenAPI document of this API, the repository's `openapi.json` (built into the app). */
export const openApi = httpFunction('openApi', {
  route: 'openapi.json',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: () =>
    Promise.resolve({
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      jsonBody: openApiDocument,
    }),
});
