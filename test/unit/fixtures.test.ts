import { describe, expect, it } from 'vitest';
import { fixtureBodyText, fixtureKinds, fixtureNames, readFixture } from '../support/fixtures';

const ALL = fixtureKinds().flatMap((kind) => fixtureNames(kind).map((name) => [kind, name] as const));

describe('upstream fixtures', () => {
  it('cover the seven kinds added by the kind registry', () => {
    expect(fixtureKinds()).toEqual(
      expect.arrayContaining([
        'customVision.iteration',
        'documentIntelligence.modelBuild',
        'face.largeFaceList',
        'face.largePersonGroup',
        'language.conversationAuthoring',
        'openai.fineTuning',
        'speech.customModel',
      ]),
    );
  });

  it.each(ALL)('%s/%s names its source, an HTTP status and one body', (kind, name) => {
    // Prepare
    const fixture = readFixture(kind, name);

    // Assess
    expect(fixture.source.length).toBeGreaterThan(20);
    expect(fixture.status).toBeGreaterThanOrEqual(200);
    expect(fixture.status).toBeLessThan(600);
    expect(typeof fixture.headers).toBe('object');
    expect('body' in fixture !== 'bodyText' in fixture).toBe(true);
  });

  it.each(ALL)('%s/%s: a body built from documentation says so; a JSON body parses', (kind, name) => {
    // Prepare
    const fixture = readFixture(kind, name);

    // Act
    const text = fixtureBodyText(fixture);

    // Assess
    if (fixture.source.startsWith('Constructed')) {
      expect(fixture.source).toMatch(/^Constructed from documentation/);
    } else {
      expect(fixture.source).toMatch(/@ [0-9a-f]{40}|#\d+|https?:\/\/|openai\/openai-openapi|reported in/);
    }
    expect(() => JSON.parse(text) as unknown).not.toThrow();
  });

  it('give every new kind a success body and the 401, 404 and 429 answers', () => {
    for (const kind of fixtureKinds()) {
      const statuses = new Set(fixtureNames(kind).map((name) => readFixture(kind, name).status));
      expect({ kind, statuses: [...statuses].sort() }).toEqual({
        kind,
        statuses: expect.arrayContaining([200, 401, 404, 429]) as unknown,
      });
    }
  });
});
