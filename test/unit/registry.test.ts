/** The kind registry: every kind is complete and consistent, so everything derived from it can rely on it. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { routeUrl } from '../../shared/upstream/kind';
import { getAdapter, listAdapters, listKinds } from '../../shared/upstream/registry';

describe('kind registry', () => {
  it('lists each kind once, named <service>.<thing>', () => {
    const kinds = listKinds();
    expect(new Set(kinds).size).toBe(kinds.length);
    for (const kind of kinds) expect(kind).toMatch(/^[a-z][a-zA-Z]*\.[a-z][a-zA-Z]*$/);
  });

  it('finds each adapter by its kind, and nothing for an unknown kind', () => {
    for (const adapter of listAdapters()) expect(getAdapter(adapter.kind)).toBe(adapter);
    expect(getAdapter('face.unknown')).toBeUndefined();
    expect(getAdapter('__proto__')).toBeUndefined();
  });

  it.each(listAdapters().map((adapter) => [adapter.kind, adapter] as const))(
    '%s declares a complete request for every api version',
    (_kind, adapter) => {
      // Prepare
      const identity = Object.fromEntries(adapter.identityFields.map((f) => [f, 'x y']));

      // Act
      const urls = adapter.apiVersions.map((v) =>
        adapter.buildUrl('https://r.cognitiveservices.azure.com', identity, v),
      );

      // Assess
      expect(adapter.defaultApiVersion).toBe(adapter.apiVersions[0]);
      expect(adapter.identityFields.length).toBeGreaterThan(0);
      expect(adapter.keyHeader).toMatch(/^[A-Za-z-]+$/);
      expect(adapter.allowedHosts.length).toBeGreaterThan(0);
      expect(adapter.defaultBudget.calls).toBeGreaterThan(0);
      for (const url of urls) {
        expect(url.startsWith('https://r.cognitiveservices.azure.com/')).toBe(true);
        expect(url).toContain('x%20y');
        expect(url).not.toMatch(/[{}]/);
      }
      expect(routeUrl('https://e', adapter.route(adapter.defaultApiVersion), identity)).toBe(
        adapter.buildUrl('https://e', identity, adapter.defaultApiVersion),
      );
    },
  );

  it('gives each identity field one meaning: a field shared by two kinds has the same rule in both', () => {
    const samples = ['group-1', 'Loans', '0f9c2a4e-8a9b-4d7e-9a55-2f1e7b6f3c11', 'a/b', ''];
    const verdicts = new Map<string, string>();
    for (const adapter of listAdapters()) {
      for (const field of adapter.identity) {
        const verdict = samples.map((v) => field.problem(v) === undefined).join();
        const seen = verdicts.get(field.name);
        if (seen !== undefined) expect(verdict, field.name).toBe(seen);
        verdicts.set(field.name, verdict);
      }
    }
  });
});

describe('OpenAPI document and the kind registry', () => {
  const openapi = JSON.parse(readFileSync(path.resolve(__dirname, '../../openapi.json'), 'utf8')) as {
    components: {
      schemas: Record<string, { enum?: string[]; properties?: Record<string, { description?: string }> }>;
    };
  };
  const schemas = openapi.components.schemas;

  it('lists every kind, and no other', () => {
    expect(schemas.JobKind?.enum).toEqual(listKinds());
  });

  it.each(listAdapters().map((adapter) => [adapter.kind, adapter] as const))(
    'documents the identity fields and api versions of %s',
    (kind, adapter) => {
      const registration = schemas.Registration?.properties ?? {};
      for (const field of adapter.identityFields) {
        expect(registration[field]?.description, field).toContain(kind);
        expect(schemas.Job?.properties?.[field], field).toBeDefined();
      }
      expect(registration.apiVersion?.description).toContain(
        `${kind}: ${adapter.apiVersions.map((v, i) => (i === 0 ? `${v} (default)` : v)).join(' or ')}`,
      );
    },
  );
});
