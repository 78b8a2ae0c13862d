import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listAdapters } from '../../shared/upstream/registry';

interface OpenApiDocument {
  components: {
    schemas: {
      JobKind: { enum: string[] };
      Registration: { properties: Record<string, { description?: string }> };
    };
  };
}

const document = JSON.parse(
  readFileSync(path.resolve(__dirname, '../../openapi.json'), 'utf8'),
) as OpenApiDocument;

describe('openapi.json and the kind registry', () => {
  it('lists exactly the registered kinds', () => {
    expect([...document.components.schemas.JobKind.enum].sort()).toEqual(
      listAdapters()
        .map((a) => a.kind)
        .sort(),
    );
  });

  it.each(listAdapters().map((a) => [a.kind, a] as const))(
    'documents the identity fields and api versions of %s',
    (kind, adapter) => {
      const properties = document.components.schemas.Registration.properties;
      for (const field of adapter.identityFields) {
        expect(properties[field]?.description ?? '').toContain(kind);
      }
      for (const version of adapter.apiVersions) {
        expect(properties.apiVersion?.description ?? '').toContain(version);
      }
    },
  );
});
